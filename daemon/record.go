package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
	"github.com/quilt-runtime/quilt/internal/atomicfile"
)

// The states of a daemon container. A container is created, then running,
// then exited; it never runs twice.
const (
	stateCreated = "created"
	stateRunning = "running"
	stateExited  = "exited"
)

// record is what the daemon keeps of a container in
// Root/containers/ID/container.json.
type record struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Image    string          `json:"image"`
	ImageID  string          `json:"imageId"`
	Config   json.RawMessage `json:"config"`
	Command  []string        `json:"command"`
	State    string          `json:"state"`
	Pid      int             `json:"pid,omitempty"`
	Created  time.Time       `json:"created"`
	Started  time.Time       `json:"started,omitzero"`
	Finished time.Time       `json:"finished,omitzero"`
	ExitCode int             `json:"exitCode"`
	OOM      bool            `json:"oomKilled,omitempty"`
	// Killed is set when the daemon sent SIGKILL to the whole container,
	// so an exit without a status file means 137.
	Killed bool   `json:"killed,omitempty"`
	Error  string `json:"error,omitempty"`
	// Socket is the exec socket's path while the container runs.
	Socket string `json:"socket,omitempty"`
	// Process is what an exec starts from: the command's environment,
	// working directory and user.
	Process execDefaults `json:"process"`
}

type execDefaults struct {
	Env    []string `json:"env"`
	Cwd    string   `json:"cwd"`
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
}

// ctr is a container in memory: its record and what goes with it. mu
// serialises the operations on one container; d.mu is only held to find
// it.
type ctr struct {
	mu     sync.Mutex
	rec    record
	config *quiltv1.ContainerConfig
	dir    string
	// exited is closed when the container has exited; exit, set before,
	// is its status, read without c.mu once exited is closed.
	exited chan struct{}
	exit   *quiltv1.WaitResponse
	// removed is set once Remove has started, so nothing else uses it;
	// gone is closed once Remove has finished.
	removed bool
	gone    chan struct{}
	// net is the container's place on a bridge network while attached.
	net *quiltv1.NetworkStatus
}

func (c *ctr) logPath() string    { return filepath.Join(c.dir, "container.log") }
func (c *ctr) exitPath() string   { return filepath.Join(c.dir, "exit.json") }
func (c *ctr) bundlePath() string { return filepath.Join(c.dir, "bundle") }

// setExited publishes the exit status in rec to the waiters.
func (c *ctr) setExited() {
	c.exit = &quiltv1.WaitResponse{ExitCode: int32(c.rec.ExitCode), OomKilled: c.rec.OOM}
	close(c.exited)
}

// save writes the record: temp file, fsync, rename.
func (c *ctr) save() error { return c.write(atomicfile.Write) }

// saveUnsynced writes the record without the fsync, for a change that a
// crash of the host makes moot (the container is gone then) and that a
// restarted quiltd can tell from the container anyway, such as its start.
func (c *ctr) saveUnsynced() error { return c.write(atomicfile.WriteUnsynced) }

func (c *ctr) write(writeFile func(string, []byte, os.FileMode) error) error {
	if c.rec.Config == nil {
		// The configuration does not change once the container exists.
		cfg, err := protojson.Marshal(c.config)
		if err != nil {
			return fmt.Errorf("container %s record: %w", c.rec.ID, err)
		}
		c.rec.Config = cfg
	}
	data, err := json.MarshalIndent(&c.rec, "", "  ")
	if err != nil {
		return fmt.Errorf("container %s record: %w", c.rec.ID, err)
	}
	if err := writeFile(filepath.Join(c.dir, "container.json"), data, 0o600); err != nil {
		return fmt.Errorf("container %s record: %w", c.rec.ID, err)
	}
	return nil
}

// loadCtr reads a container's record from its directory.
func loadCtr(dir string) (*ctr, error) {
	data, err := os.ReadFile(filepath.Join(dir, "container.json"))
	if err != nil {
		return nil, err
	}
	c := &ctr{dir: dir, exited: make(chan struct{}), gone: make(chan struct{}), config: &quiltv1.ContainerConfig{}}
	if err := json.Unmarshal(data, &c.rec); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(c.rec.Config) > 0 {
		if err := protojson.Unmarshal(c.rec.Config, c.config); err != nil {
			return nil, fmt.Errorf("%s: config: %w", dir, err)
		}
	}
	if c.rec.State == stateExited {
		c.setExited()
	}
	return c, nil
}
