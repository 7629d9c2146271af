package sqlstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/eonpro/eonpro"
)

var _ eonpro.AuditAnchor = (*FileAnchor)(nil)

// FileAnchor is an audit anchor in an append-only file: one checkpoint of
// any chain per JSON line. It only ever opens the file to append
// (O_APPEND), so the operator can forbid every other change to it
// (chattr +a on Linux) without stopping the server.
type FileAnchor struct {
	path string
	mu   sync.Mutex // serialises this process's appends
}

// OpenFileAnchor returns the anchor file at path, creating it (mode 0600,
// its directory 0700) so that a wrong path stops the start rather than
// the first checkpoint.
func OpenFileAnchor(path string) (*FileAnchor, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit anchor file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit anchor file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("audit anchor file: %w", err)
	}
	return &FileAnchor{path: path}, nil
}

// AnchorName implements eonpro.AuditAnchor.
func (a *FileAnchor) AnchorName() string { return "anchor file" }

// WriteCheckpoint appends cp as one line and syncs it to disk.
func (a *FileAnchor) WriteCheckpoint(_ context.Context, cp *eonpro.AuditCheckpoint) error {
	line, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("audit anchor file: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit anchor file: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("audit anchor file: %w", err)
	}
	return nil
}

// FindCheckpoints reads the file and returns the lines of one chain. A
// line that is not JSON (one torn by a crash mid-write) is skipped: it
// holds no checkpoint, and appending cannot remove the ones around it.
func (a *FileAnchor) FindCheckpoints(_ context.Context, clinicID string) ([]*eonpro.AuditCheckpoint, error) {
	f, err := os.Open(a.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("audit anchor file: %w", err)
	}
	defer f.Close()
	var out []*eonpro.AuditCheckpoint
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cp := &eonpro.AuditCheckpoint{}
		if json.Unmarshal(sc.Bytes(), cp) == nil && cp.ClinicID == clinicID {
			out = append(out, cp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit anchor file: %w", err)
	}
	return out, nil
}
