package nixfix

import "errors"

// Sentinel errors. Functions wrap them once with the path or field they are
// about; callers test them with errors.Is.
var (
	// ErrInvalidStoreName: a name is not <32-char nixbase32 hash>-<name>.
	ErrInvalidStoreName = errors.New("invalid Nix store name")
	// ErrNotStorePath: a path does not lie under /nix/store.
	ErrNotStorePath = errors.New("not a Nix store path")
	// ErrNotELF: a file is not an ELF object.
	ErrNotELF = errors.New("not an ELF file")
	// ErrRootfs: the root filesystem cannot be opened (report code E_ROOTFS).
	ErrRootfs = errors.New("cannot open rootfs")
	// ErrConfig: a bundle config, annotation, flag or option is invalid
	// (report code E_CONFIG).
	ErrConfig = errors.New("invalid nixfix configuration")
	// ErrUnsafePath: a write would go through a symlink or a non-directory,
	// and was refused (report code E_UNSAFE_PATH).
	ErrUnsafePath = errors.New("unsafe path")
	// ErrExists: an entry appeared or changed while nixfix was writing, so
	// it lost a race (report code E_EXISTS).
	ErrExists = errors.New("entry appeared or changed concurrently")
	// ErrShellBinary: the quilt-sh copy is missing, not a plain regular
	// file, setuid/setgid, or its sha256 does not match.
	ErrShellBinary = errors.New("unusable shell binary")
	// ErrNotProvisioned: the rootfs holds no /.quilt/bin/sh mount point.
	ErrNotProvisioned = errors.New("shell not provisioned")
)
