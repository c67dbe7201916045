package shell

import (
	"reflect"

	"mvdan.cc/sh/v3/interp"
)

// runnerOf returns the interp.Runner that called a handler, or nil.
//
// interp (v3.14.1) keeps it in the unexported field HandlerContext.runner
// and gives handlers no other way to tell the main shell from a subshell
// (a pipeline element, $(...), ( ... ), a background job), which are
// copies of the Runner running in the same process. quilt-sh needs that
// distinction: `exec` may replace the process only from the main shell.
// It also reads Runner.Funcs so that a function named like a builtin that
// quilt-sh provides (kill, exec, ...) wins, as in other shells.
//
// If a later interp drops the field, runnerOf returns nil: exec then never
// replaces the process, and TestRunnerOf fails.
func runnerOf(hc interp.HandlerContext) *interp.Runner {
	v := reflect.ValueOf(&hc).Elem().FieldByName("runner")
	if !v.IsValid() || v.Type() != reflect.TypeFor[*interp.Runner]() || v.IsNil() {
		return nil
	}
	return (*interp.Runner)(v.UnsafePointer())
}
