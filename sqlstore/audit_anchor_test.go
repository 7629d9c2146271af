package sqlstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// newAnchoredEnv is an audit service that also anchors its checkpoints
// in a file, with a checkpoint interval of 15 minutes.
func newAnchoredEnv(t *testing.T, db *sqlstore.DB) (*auditEnv, string) {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	e := &auditEnv{t: t, db: db, notify: sqlstore.NewOutboxNotifier(db, slog.New(slog.DiscardHandler)), key: key, sink: t.TempDir()}
	path := filepath.Join(t.TempDir(), "anchor", "audit-anchor.jsonl")
	anchor, err := sqlstore.OpenFileAnchor(path)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = sqlstore.NewAuditService(db, sqlstore.AuditOptions{Notifier: e.notify, SigningKey: key, CheckpointDir: e.sink,
		Anchors: []eonpro.AuditAnchor{anchor}, CheckpointInterval: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return e, path
}

// checkpointFile is the checkpoint directory's file of c at seq.
func (e *auditEnv) checkpointFile(c *eonpro.Clinic, seq int64) string {
	return filepath.Join(e.sink, c.ID, fmt.Sprintf("%020d.json", seq))
}

// rehash rewrites evs from index from on, as an attacker who recomputes
// the hashes would, and moves the head to the last one.
func (e *auditEnv) rehash(c *eonpro.Clinic, evs []*eonpro.AuditEvent, from int) {
	e.t.Helper()
	for i := from; i < len(evs); i++ {
		ev := evs[i]
		ev.PrevHash = evs[i-1].Hash
		ev.Hash, _ = ev.ComputeHash()
		e.must(e.execArgs(tamperRehash, ev.ID, ev.ResourceID, ev.PrevHash, ev.Hash))
	}
	last := evs[len(evs)-1]
	e.must(e.execArgs(tamperHead, c.ID, last.Seq, last.Hash))
}

// TestAuditAnchorVerify tampers with chains whose checkpoint directory
// the attacker also changed: the checkpoints of the anchor file, out of
// their reach, still show it.
func TestAuditAnchorVerify(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e, path := newAnchoredEnv(t, db)
		ctx := context.Background()
		names := []string{"ok", "truncate", "rewrite", "wiped", "forged"}
		clinics := map[string]*eonpro.Clinic{}
		for _, name := range names {
			clinics[name] = e.clinic(name)
			e.record(clinics[name], 3)
		}
		if cps, err := e.svc.Checkpoint(ctx); err != nil || len(cps) != len(names) {
			t.Fatalf("first checkpoint: %d written, %v", len(cps), err)
		}
		chains := map[string][]*eonpro.AuditEvent{}
		for _, name := range names {
			chains[name] = e.record(clinics[name], 2)
		}
		if cps, err := e.svc.Checkpoint(ctx); err != nil || len(cps) != len(names) {
			t.Fatalf("second checkpoint: %d written, %v", len(cps), err)
		}
		e.exec(dropEventTriggers...)
		anchor := "anchor file"

		tests := []struct {
			name   string
			tamper func(c *eonpro.Clinic, evs []*eonpro.AuditEvent)
			seq    int64
			bad    int // index of the first bad event; -1 for a missing one
			reason []string
		}{
			{"ErrTruncatedHeadRewound", func(c *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(os.Remove(e.checkpointFile(c, 5)))
				e.must(e.execArgs(auditDelete, evs[4].ID))
				e.must(e.execArgs(auditDelete, evs[3].ID))
				e.must(e.execArgs(tamperHead, c.ID, 3, evs[2].Hash))
			}, 4, -1, []string{"signed checkpoint covers seq 5", anchor, "tail was removed"}},
			{"ErrRewrittenAfterLastDirectoryCheckpoint", func(c *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(os.Remove(e.checkpointFile(c, 5)))
				evs[3].ResourceID = "someone-else"
				e.rehash(c, evs, 3)
			}, 5, 4, []string{"signed checkpoint", anchor, "rewritten"}},
			{"ErrCheckpointsDeletedThenTruncated", func(c *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(os.RemoveAll(filepath.Join(e.sink, c.ID)))
				e.must(e.execArgs(auditDelete, evs[4].ID))
				e.must(e.execArgs(auditDelete, evs[3].ID))
				e.must(e.execArgs(tamperHead, c.ID, 3, evs[2].Hash))
			}, 4, -1, []string{"covers seq 5", anchor}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := clinics[names[i+1]]
				evs := chains[names[i+1]]
				tt.tamper(c, evs)
				res := e.verify(c)
				var want *string
				if tt.bad >= 0 {
					want = &evs[tt.bad].ID
				}
				if res.OK || res.FirstBadSeq != tt.seq {
					t.Errorf("got ok=%v seq=%d reason %q, want seq %d", res.OK, res.FirstBadSeq, res.Reason, tt.seq)
				}
				for _, r := range tt.reason {
					if !strings.Contains(res.Reason, r) {
						t.Errorf("reason %q does not say %q", res.Reason, r)
					}
				}
				diff(t, "first bad event", want, res.FirstBad)
			})
		}
		t.Run("OK", func(t *testing.T) {
			res := e.verify(clinics["ok"])
			if !res.OK || res.Count != 5 || res.Checkpoints != 2 || res.CheckpointAge < 0 || res.NewestCheckpoint.IsZero() {
				t.Errorf("intact chain: %+v", res)
			}
			want := []eonpro.CheckpointSource{
				{Name: "checkpoint directory", Checkpoints: 2, NewestSeq: 5, NewestTime: res.NewestCheckpoint},
				{Name: anchor, Checkpoints: 2, NewestSeq: 5, NewestTime: res.NewestCheckpoint},
			}
			diff(t, "sources", want, res.Sources)
		})
		t.Run("ErrAnchorForged", func(t *testing.T) {
			c := clinics["forged"]
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			cp := &eonpro.AuditCheckpoint{ClinicID: c.ID, Seq: 6, Hash: chains["forged"][4].Hash, Time: db.Now()}
			cp.Sign(other)
			line, _ := json.Marshal(cp)
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			e.must(err)
			_, err = f.Write(append(line, '\n'))
			e.must(err)
			e.must(f.Close())
			if res := e.verify(c); res.OK || !strings.Contains(res.Reason, "not signed by the audit signing key") ||
				!strings.Contains(res.Reason, anchor) {
				t.Errorf("forged anchored checkpoint: %+v", res)
			}
		})
	})
}

// TestAuditCheckpointStale moves the clock past twice the checkpoint
// interval: a chain with events that old needs a checkpoint that recent.
func TestAuditCheckpointStale(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(string(eng), func(t *testing.T) {
			clock := newTestClock()
			clock.Set(time.Now().UTC())
			db := sqltest.Open(t, eng, clock.Now)
			e, _ := newAnchoredEnv(t, db)
			ctx := context.Background()
			quiet, never := e.clinic("quiet"), e.clinic("never")
			e.record(quiet, 2)
			if cps, err := e.svc.Checkpoint(ctx); err != nil || len(cps) != 1 {
				t.Fatalf("checkpoint: %d written, %v", len(cps), err)
			}
			e.record(never, 1)
			t.Run("Fresh", func(t *testing.T) {
				clock.Add(29 * time.Minute)
				for _, c := range []*eonpro.Clinic{quiet, never} {
					if res := e.verify(c); !res.OK || res.Reason != "" {
						t.Errorf("%s after 29m: %+v", c.Slug, res)
					}
				}
				if res := e.verify(quiet); res.CheckpointAge != 29*time.Minute {
					t.Errorf("checkpoint age %s, want 29m", res.CheckpointAge)
				}
			})
			t.Run("ErrStale", func(t *testing.T) {
				clock.Add(2 * time.Minute)
				res := e.verify(quiet)
				if res.OK || res.FirstBadSeq != 3 || res.FirstBad != nil || res.CheckpointAge != 31*time.Minute ||
					!strings.Contains(res.Reason, "is 31m0s old") || !strings.Contains(res.Reason, "(30m0s)") {
					t.Errorf("stale checkpoint: %+v", res)
				}
			})
			t.Run("ErrNoCheckpoint", func(t *testing.T) {
				res := e.verify(never)
				if res.OK || res.FirstBadSeq != 1 || !strings.Contains(res.Reason, "no checkpoint") {
					t.Errorf("never checkpointed: %+v", res)
				}
			})
			t.Run("CheckpointRenewsUnmovedHead", func(t *testing.T) {
				cps, err := e.svc.Checkpoint(ctx)
				if err != nil || len(cps) != 2 {
					t.Fatalf("checkpoint: %d written, %v", len(cps), err)
				}
				for _, c := range []*eonpro.Clinic{quiet, never} {
					if res := e.verify(c); !res.OK || res.CheckpointAge != 0 {
						t.Errorf("%s after a new checkpoint: %+v", c.Slug, res)
					}
				}
				clock.Add(7 * time.Minute)
				if cps, err := e.svc.Checkpoint(ctx); err != nil || len(cps) != 0 {
					t.Errorf("unmoved heads within half the interval: %d written, %v", len(cps), err)
				}
			})
		})
	}
}
