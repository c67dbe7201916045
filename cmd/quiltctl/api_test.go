package main

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/quilt-runtime/quilt/api/quilt/v1/quiltv1grpc"
)

// TestAPIMethods checks quiltctl's method names against the services of
// the API: each names a method of the right kind, and every method of the
// API has one, but Health, which is for probes, not people.
func TestAPIMethods(t *testing.T) {
	unary := []string{mVersion, mImages, mImageInspect, mImageRemove,
		mCreate, mStart, mWait, mStop, mKill, mRemove, mList, mInspect, mStats,
		mNetworkCreate, mNetworks, mNetworkInspect, mNetworkRemove}
	serverStreams := []string{mImport, mRun, mLogs, mEvents}
	bidi := []string{mExec}

	api := map[string]protoreflect.MethodDescriptor{}
	services := quiltv1grpc.File_api_quilt_v1_quiltv1grpc_services_proto.Services()
	for i := range services.Len() {
		sd := services.Get(i)
		for j := range sd.Methods().Len() {
			md := sd.Methods().Get(j)
			api["/"+string(sd.FullName())+"/"+string(md.Name())] = md
		}
	}
	seen := map[string]bool{}
	check := func(names []string, client, server bool) {
		for _, name := range names {
			md, ok := api[name]
			switch {
			case !ok:
				t.Errorf("%s: no such method in the API", name)
			case md.IsStreamingClient() != client || md.IsStreamingServer() != server:
				t.Errorf("%s: streams client %v, server %v; quiltctl calls it as %v, %v", name,
					md.IsStreamingClient(), md.IsStreamingServer(), client, server)
			}
			seen[name] = true
		}
	}
	check(unary, false, false)
	check(serverStreams, false, true)
	check(bidi, true, true)
	for name := range api {
		if !seen[name] && name != "/quilt.v1.System/Health" {
			t.Errorf("%s: the API has it and quiltctl names no constant for it", name)
		}
	}
}
