// Package shell is quilt-sh: a small POSIX shell for containers whose image
// has no working /bin/sh or coreutils, such as Nix-built images with a
// partial store.
//
// The language is mvdan.cc/sh/v3 (syntax, expand, interp). On top of it
// the package adds what an entrypoint script in a broken image needs:
//
//   - built-in utilities (cat, ls, cp, grep, ...), used only when a command
//     name resolves to no executable in PATH, so that a working image keeps
//     its own tools (QUILT_SH_PREFER_BUILTINS=1 reverses the order);
//   - the builtins that interp leaves out: kill, umask, ulimit, and an exec
//     that is a real execve(2), so that `exec "$@"` keeps PID 1;
//   - a fallback when an executable exists but cannot start because its
//     ELF or #! interpreter is missing: a diagnosis on stderr, then the
//     built-in utility of that name, or the script run by quilt-sh itself
//     when its interpreter is a POSIX-like shell;
//   - env(1) semantics, so that one binary can be /bin/sh, /usr/bin/env and
//     any utility name (multi-call, chosen by basename(argv[0])).
package shell
