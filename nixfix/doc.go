// Package nixfix checks and repairs container root filesystems built by Nix
// (dockerTools, nix2container, NixOS system tarballs) before a container
// starts: links into store paths that are not in the image, ELF interpreters
// and "#!" interpreters in missing store paths, and a missing /bin/sh or
// /usr/bin/env. It implements the nixfix part of the quilt Nix
// specification (rules R-x and SEC-x).
//
// Every path is resolved inside the rootfs, the way the kernel resolves it
// after pivot_root (openat2 RESOLVE_IN_ROOT semantics); nothing is ever
// followed out of the rootfs. Repairs are limited to a fixed set of
// operations (store aliases, shell mount point, links to it), never write
// inside a store path or through a symlink, and are idempotent.
//
// The API, from the outside in:
//
//	Run(rootfs, Options) *Report       check or repair; Report.ExitCode is R-9.2's
//	BundleOptions, SpecOptions         options from a bundle or a loaded config
//	Options.ApplyAnnotations           quilt.nixfix, quilt.shell, quilt.nixfix.policy
//	ShellMount, MountPoint,            the quilt-sh bind mount, its mount point
//	InstallShell                       and its private copy
//	Undo, ReadInRootReport             reverse a repair
//	Diagnose                           why a program cannot start (R-9.5, S-6)
//	ParseStoreName, ParseStorePath,    parsers for untrusted input
//	ParseShebang, ReadELF
//
// Run needs no shell binary in the default install mode: it creates the
// mount point /.quilt/bin/sh, and the caller adds the bind mount that
// ShellMount returns to the container config it uses.
package nixfix
