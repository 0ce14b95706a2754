/* Files on the volume the loader itself was loaded from (the ESP). */
#include "loader.h"

static EFI_HANDLE fs_dev;
static EFI_FILE_HANDLE fs_root;

EFI_STATUS fs_init(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *li;
	EFI_FILE_IO_INTERFACE *sfs;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return st;
	fs_dev = li->DeviceHandle;
	st = uefi_call_wrapper(BS->HandleProtocol, 3, fs_dev, &FileSystemProtocol, (void **)&sfs);
	if (EFI_ERROR(st))
		return st;
	return uefi_call_wrapper(sfs->OpenVolume, 2, sfs, &fs_root);
}

EFI_HANDLE fs_device(void)
{
	return fs_dev;
}

void fs_path16(const char *path, CHAR16 *out, size_t out_len)
{
	size_t n = 0;

	if (*path != '\\' && *path != '/' && n + 1 < out_len)
		out[n++] = L'\\';
	for (; *path && n + 1 < out_len; path++)
		out[n++] = *path == '/' ? L'\\' : (CHAR16)(u8)*path;
	out[n] = 0;
}

static EFI_STATUS fs_open(const char *path, EFI_FILE_HANDLE *file)
{
	CHAR16 name[CFG_PATH_MAX + 2];

	if (!fs_root)
		return EFI_NOT_READY;
	fs_path16(path, name, ARRAY_SIZE(name));
	return uefi_call_wrapper(fs_root->Open, 5, fs_root, file, name, EFI_FILE_MODE_READ, 0);
}

/* A directory opens just like a file: only a regular file counts. */
static EFI_STATUS fs_regular_size(EFI_FILE_HANDLE file, UINTN *size)
{
	EFI_FILE_INFO *info = LibFileInfo(file);

	if (!info)
		return EFI_DEVICE_ERROR;
	if (info->Attribute & EFI_FILE_DIRECTORY) {
		FreePool(info);
		return EFI_NOT_FOUND;
	}
	*size = info->FileSize;
	FreePool(info);
	return EFI_SUCCESS;
}

EFI_STATUS fs_exists(const char *path)
{
	EFI_FILE_HANDLE file;
	EFI_STATUS st;
	UINTN size;

	st = fs_open(path, &file);
	if (EFI_ERROR(st))
		return st;
	st = fs_regular_size(file, &size);
	uefi_call_wrapper(file->Close, 1, file);
	return st;
}

EFI_STATUS fs_read(const char *path, void **data, UINTN *size)
{
	EFI_FILE_HANDLE file;
	EFI_STATUS st;
	UINTN want, got;
	void *buf;

	st = fs_open(path, &file);
	if (EFI_ERROR(st))
		return st;
	st = fs_regular_size(file, &want);
	if (EFI_ERROR(st))
		goto out;
	/* One spare byte: text files get a terminating NUL for free. */
	buf = AllocateZeroPool(want + 1);
	if (!buf) {
		st = EFI_OUT_OF_RESOURCES;
		goto out;
	}
	got = want;
	st = uefi_call_wrapper(file->Read, 3, file, &got, buf);
	if (!EFI_ERROR(st) && got != want)
		st = EFI_END_OF_FILE;
	if (EFI_ERROR(st)) {
		FreePool(buf);
		goto out;
	}
	*data = buf;
	*size = want;
out:
	uefi_call_wrapper(file->Close, 1, file);
	return st;
}
