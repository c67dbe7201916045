// Package reexec is imported for its side effect by a command that uses
// libquilt: when libcontainer or libquilt re-executed the binary as a
// container's init, as a hook shim or as the seccomp compiler, its init
// function turns the process into that and never returns.
//
// It does so before package main initialises its variables, and before any
// package that libquilt does not need (the command line library and its
// help templates): their initialisation would be wasted, and a container's
// init is on the path of every create, run and exec.
package reexec

import "github.com/quilt-runtime/quilt/libquilt"

func init() {
	switch {
	case libquilt.IsInit():
		libquilt.Init()
	case libquilt.IsHookShim():
		libquilt.RunHookShim()
	case libquilt.IsSeccompCompiler():
		libquilt.RunSeccompCompiler()
	}
}
