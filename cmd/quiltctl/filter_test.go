package main

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func TestParseListFilters(t *testing.T) {
	for _, tc := range []struct {
		filters []string
		want    *quiltv1.ListRequest
		err     bool
	}{
		{nil, &quiltv1.ListRequest{}, false},
		{[]string{"label=app=web", "label=tier", "label=k=a=b"}, &quiltv1.ListRequest{Labels: map[string]string{"app": "web", "tier": "", "k": "a=b"}}, false},
		{[]string{"name=we", "name=we"}, &quiltv1.ListRequest{Name: "we"}, false},
		{[]string{"status=running"}, &quiltv1.ListRequest{Status: []quiltv1.Status{quiltv1.Status_STATUS_RUNNING}}, false},
		{[]string{"status=exited", "status=created", "status=exited"}, &quiltv1.ListRequest{All: true, Status: []quiltv1.Status{quiltv1.Status_STATUS_EXITED, quiltv1.Status_STATUS_CREATED}}, false},
		{[]string{"image=busybox", "ancestor=busybox"}, &quiltv1.ListRequest{Image: "busybox"}, false},
		{[]string{"name=a", "name=b"}, nil, true},
		{[]string{"image=a", "image=b"}, nil, true},
		{[]string{"status=dead"}, nil, true},
		{[]string{"label="}, nil, true},
		{[]string{"label==v"}, nil, true},
		{[]string{"name"}, nil, true},
		{[]string{"colour=red"}, nil, true},
	} {
		req := &quiltv1.ListRequest{}
		err := parseListFilters(tc.filters, req)
		if tc.err {
			if !errors.Is(err, errInvalidFilter) {
				t.Errorf("parseListFilters(%q) = %v, want an invalid filter", tc.filters, err)
			}
			continue
		}
		if err != nil || !proto.Equal(req, tc.want) {
			t.Errorf("parseListFilters(%q) = %v, %v; want %v", tc.filters, req, err, tc.want)
		}
	}
}

func TestParseEventFilters(t *testing.T) {
	for _, tc := range []struct {
		filters []string
		want    *quiltv1.EventsRequest
		err     bool
	}{
		{[]string{"container=web", "type=exit", "event=oom", "type=exit"}, &quiltv1.EventsRequest{Id: "web", Types: []string{"exit", "oom"}}, false},
		{[]string{"name=web", "id=web"}, &quiltv1.EventsRequest{Id: "web"}, false},
		{[]string{"container=a", "container=b"}, nil, true},
		{[]string{"type=explode"}, nil, true},
		{[]string{"image=busybox"}, nil, true},
		{[]string{"type="}, nil, true},
	} {
		req := &quiltv1.EventsRequest{}
		err := parseEventFilters(tc.filters, req)
		if tc.err {
			if !errors.Is(err, errInvalidFilter) {
				t.Errorf("parseEventFilters(%q) = %v, want an invalid filter", tc.filters, err)
			}
			continue
		}
		if err != nil || !proto.Equal(req, tc.want) {
			t.Errorf("parseEventFilters(%q) = %v, %v; want %v", tc.filters, req, err, tc.want)
		}
	}
}
