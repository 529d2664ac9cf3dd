// Package drm is the DRM/KMS user-space API (include/uapi/drm) on top of
// golang.org/x/sys/unix: kernel structs with their exact layouts, one typed
// wrapper per ioctl, and device discovery through sysfs.
//
// Every error returned here is an *Error that names the operation and wraps
// the errno, so errors.Is(err, unix.EINVAL) works through any later wrapping.
// The raw ioctl call stays unexported.
package drm
