package main

import (
	"fmt"
	"slices"
	"strings"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

// parseListFilters reads ps's --filter values into req:
// label=KEY[=VALUE], name=PART, status=created|running|paused|exited
// (repeatable) and image=REF (or ancestor=REF). A status filter other than
// running lists stopped containers without -a, as docker does.
func parseListFilters(filters []string, req *quiltv1.ListRequest) error {
	for _, f := range filters {
		key, val, ok := strings.Cut(f, "=")
		if !ok || val == "" {
			return fmt.Errorf("%q: %w (want KEY=VALUE)", f, errInvalidFilter)
		}
		switch key {
		case "label":
			k, v, _ := strings.Cut(val, "=")
			if k == "" {
				return fmt.Errorf("%q: %w (want label=KEY or label=KEY=VALUE)", f, errInvalidFilter)
			}
			if req.Labels == nil {
				req.Labels = map[string]string{}
			}
			req.Labels[k] = v
		case "name":
			if req.Name != "" && req.Name != val {
				return fmt.Errorf("%q: %w (only one name filter)", f, errInvalidFilter)
			}
			req.Name = val
		case "status":
			st, ok := statusNames[val]
			if !ok {
				return fmt.Errorf("%q: %w (status is created, running, paused or exited)", f, errInvalidFilter)
			}
			if !slices.Contains(req.Status, st) {
				req.Status = append(req.Status, st)
			}
			if st != quiltv1.Status_STATUS_RUNNING {
				req.All = true
			}
		case "image", "ancestor":
			if req.Image != "" && req.Image != val {
				return fmt.Errorf("%q: %w (only one image filter)", f, errInvalidFilter)
			}
			req.Image = val
		default:
			return fmt.Errorf("%q: %w (filters are label, name, status and image)", f, errInvalidFilter)
		}
	}
	return nil
}

// eventTypes are the types of events quiltd sends.
var eventTypes = []string{"create", "start", "exit", "oom", "remove", "import", "image-remove"}

// parseEventFilters reads events's --filter values into req:
// container=ID|NAME (one) and type=TYPE (or event=TYPE, repeatable).
func parseEventFilters(filters []string, req *quiltv1.EventsRequest) error {
	for _, f := range filters {
		key, val, ok := strings.Cut(f, "=")
		if !ok || val == "" {
			return fmt.Errorf("%q: %w (want KEY=VALUE)", f, errInvalidFilter)
		}
		switch key {
		case "container", "id", "name":
			if req.Id != "" && req.Id != val {
				return fmt.Errorf("%q: %w (only one container filter)", f, errInvalidFilter)
			}
			req.Id = val
		case "type", "event":
			if !slices.Contains(eventTypes, val) {
				return fmt.Errorf("%q: %w (types are %s)", f, errInvalidFilter, strings.Join(eventTypes, ", "))
			}
			if !slices.Contains(req.Types, val) {
				req.Types = append(req.Types, val)
			}
		default:
			return fmt.Errorf("%q: %w (filters are container and type)", f, errInvalidFilter)
		}
	}
	return nil
}
