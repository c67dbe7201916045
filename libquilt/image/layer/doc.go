// Package layer applies one image layer, an uncompressed tar stream in the
// OCI layer format, to a directory.
//
// Every entry is resolved inside the directory with openat2(2) and
// RESOLVE_IN_ROOT, and every final component is created or opened without
// following symlinks, so neither absolute names, "..", symlinks written by
// earlier entries, nor hard links can make it write outside the directory.
// Names that climb out of the root with ".." are rejected.
//
// Whiteouts (".wh.NAME" and the opaque marker ".wh..wh..opq") are either
// applied, deleting what lower layers wrote (for a plain root filesystem),
// or written as overlayfs whiteouts, so that the directory can be used as
// one lowerdir of an overlay mount.
package layer
