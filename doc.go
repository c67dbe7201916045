// Package quilt is the root of the Quilt module: an OCI container runtime.
// The code lives in cmd/ (binaries), libquilt/ (container lifecycle) and
// spec/ (runtime-spec values); this package only holds repository-wide
// tests.
package quilt
