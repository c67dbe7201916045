package libquilt

import (
	"fmt"

	"github.com/opencontainers/runc/libcontainer/capabilities"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Feature annotations Quilt adds to its features document.
const (
	AnnotationVersion           = "io.github.quilt-runtime.version"
	AnnotationCommit            = "io.github.quilt-runtime.commit"
	AnnotationLibseccompVersion = "io.github.seccomp.libseccomp.version"
	AnnotationCheckpoint        = "io.github.quilt-runtime.checkpoint.enabled"
)

// Features describes what this build of Quilt supports, as the
// runtime-spec's features document (`quilt features`).
func Features(version, commit string) *features.Features {
	yes := true
	f := &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         configs.KnownHookNames(),
		MountOptions:  specconv.KnownMountOptions(),
		Annotations: map[string]string{
			AnnotationVersion:    version,
			AnnotationCommit:     commit,
			AnnotationCheckpoint: "true",
		},
		Linux: &features.Linux{
			Namespaces:   specconv.KnownNamespaces(),
			Capabilities: capabilities.KnownCapabilities(),
			Cgroup: &features.Cgroup{
				V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &yes, Rdma: &yes,
			},
			Apparmor: &features.Apparmor{Enabled: &yes},
			Selinux:  &features.Selinux{Enabled: &yes},
			IntelRdt: &features.IntelRdt{Enabled: &yes},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: &yes},
			},
			NetDevices: &features.NetDevices{Enabled: &yes},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: specconv.KnownMemoryPolicyModes(),
				Flags: specconv.KnownMemoryPolicyFlags(),
			},
		},
		PotentiallyUnsafeConfigAnnotations: []string{"org.systemd.property.", "org.criu.config"},
	}
	if seccomp.Enabled {
		f.Linux.Seccomp = &features.Seccomp{
			Enabled:        &yes,
			Actions:        seccomp.KnownActions(),
			Operators:      seccomp.KnownOperators(),
			Archs:          seccomp.KnownArchs(),
			KnownFlags:     seccomp.KnownFlags(),
			SupportedFlags: seccomp.SupportedFlags(),
		}
		major, minor, micro := seccomp.Version()
		f.Annotations[AnnotationLibseccompVersion] = fmt.Sprintf("%d.%d.%d", major, minor, micro)
	} else {
		no := false
		f.Linux.Seccomp = &features.Seccomp{Enabled: &no}
	}
	return f
}
