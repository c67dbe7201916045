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
// The layers, from the outside in:
//
//	Run, BundleOptions, SpecOptions   entry points for quilt create / quilt nixfix
//	Options, Policy, annotations      what to do (check or repair, shell, opt-in rules)
//	Report, Finding, Action           the quilt.nixfix/v1 JSON report and exit codes
//	ParseStoreName, ParseShebang,     parsers for untrusted input
//	ReadELF
package nixfix
