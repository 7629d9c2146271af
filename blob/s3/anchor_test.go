package s3_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/s3"
)

// lockHeaders records the Object Lock headers of every PUT, which
// gofakes3 accepts but does not enforce.
type lockHeaders struct {
	mu   sync.Mutex
	puts []http.Header
}

func (l *lockHeaders) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			l.mu.Lock()
			l.puts = append(l.puts, r.Header.Clone())
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func TestAnchorRoundTrip(t *testing.T) {
	ctx := context.Background()
	rec := &lockHeaders{}
	client, backend := fakeClient(t, "eonpro-audit", rec.wrap)
	anchor, err := s3.NewAnchor(client, s3.AnchorOptions{Bucket: "eonpro-audit", Retention: 400 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := anchor.AnchorName(); got != "S3 anchor" {
		t.Errorf("name %q", got)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)
	clinic := eonpro.NewID()
	var want []*eonpro.AuditCheckpoint
	for i, chain := range []string{clinic, clinic, ""} {
		cp := &eonpro.AuditCheckpoint{ClinicID: chain, Seq: int64(3 + i), Hash: strings.Repeat("ab", 32), Time: at.Add(time.Duration(i) * time.Minute)}
		cp.Sign(key)
		if err := anchor.WriteCheckpoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
		want = append(want, cp)
	}

	t.Run("ObjectLockHeaders", func(t *testing.T) {
		if len(rec.puts) != 3 {
			t.Fatalf("%d PUTs, want 3", len(rec.puts))
		}
		for i, h := range rec.puts {
			until := want[i].Time.Add(400 * 24 * time.Hour).Truncate(time.Millisecond)
			got, err := time.Parse(time.RFC3339Nano, h.Get("X-Amz-Object-Lock-Retain-Until-Date"))
			if h.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" || err != nil || !got.Equal(until) {
				t.Errorf("PUT %d: mode %q until %q, want COMPLIANCE until %s", i, h.Get("X-Amz-Object-Lock-Mode"),
					h.Get("X-Amz-Object-Lock-Retain-Until-Date"), until)
			}
		}
	})
	t.Run("KeyPerChainAndSeq", func(t *testing.T) {
		for _, key := range []string{
			"audit-checkpoints/" + clinic + "/00000000000000000003-20250301T120000.123456Z.json",
			"audit-checkpoints/platform/00000000000000000005-20250301T120200.123456Z.json",
		} {
			if _, err := backend.HeadObject("eonpro-audit", key); err != nil {
				t.Errorf("object %s: %v", key, err)
			}
		}
	})
	t.Run("FindCheckpoints", func(t *testing.T) {
		for _, tt := range []struct {
			chain string
			want  []*eonpro.AuditCheckpoint
		}{{clinic, want[:2]}, {"", want[2:]}, {eonpro.NewID(), nil}} {
			got, err := anchor.FindCheckpoints(ctx, tt.chain)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b *eonpro.AuditCheckpoint) int { return int(a.Seq - b.Seq) })
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("chain %q: mismatch (-want +got):\n%s", tt.chain, d)
			}
			for _, cp := range got {
				if !cp.VerifySignature(key.Public().(ed25519.PublicKey)) {
					t.Errorf("checkpoint at seq %d does not verify after the round trip", cp.Seq)
				}
			}
		}
	})
	t.Run("ErrOptions", func(t *testing.T) {
		for _, o := range []s3.AnchorOptions{{Retention: time.Hour}, {Bucket: "b"}, {Bucket: "b", Retention: time.Hour, Mode: "LEGAL"}} {
			if _, err := s3.NewAnchor(client, o); err == nil {
				t.Errorf("NewAnchor(%+v) accepted", o)
			}
		}
	})
}

func TestAnchorGovernance(t *testing.T) {
	rec := &lockHeaders{}
	client, backend := fakeClient(t, "eonpro-audit", rec.wrap)
	anchor, err := s3.NewAnchor(client, s3.AnchorOptions{Bucket: "eonpro-audit", Prefix: "/x/", Mode: s3.LockGovernance, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	cp := &eonpro.AuditCheckpoint{Seq: 1, Hash: strings.Repeat("0", 64), Time: time.Now().UTC().Truncate(time.Microsecond)}
	cp.Sign(key)
	if err := anchor.WriteCheckpoint(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	if len(rec.puts) != 1 || rec.puts[0].Get("X-Amz-Object-Lock-Mode") != "GOVERNANCE" {
		t.Errorf("governance anchor: %v", rec.puts)
	}
	if _, err := backend.HeadObject("eonpro-audit", "x/platform/00000000000000000001-"+cp.Time.Format("20060102T150405.000000Z")+".json"); err != nil {
		t.Errorf("object under the trimmed prefix: %v", err)
	}
}
