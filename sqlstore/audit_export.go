package sqlstore

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/eonpro/eonpro"
)

// auditCSVHeader names the CSV columns, in the order of csvRecord.
var auditCSVHeader = []string{"id", "time", "clinic_id", "seq", "actor_type", "actor_id", "actor_role", "action",
	"resource_type", "resource_id", "patient_id", "outcome", "ip", "user_agent", "request_id", "session_id",
	"detail", "prev_hash", "hash"}

// Export streams the clinic's events that match f to w, oldest first,
// after recording the export itself.
func (s *AuditService) Export(ctx context.Context, f eonpro.AuditFilter, format string, w io.Writer) error {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermAuditRead) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not export the audit log.")
	}
	if format != eonpro.ExportCSV && format != eonpro.ExportJSON {
		return eonpro.FieldError("format", "must be csv or json")
	}
	f.Cursor = ""
	args, err := auditArgs(f)
	if err != nil {
		return err
	}
	ev := eonpro.AuditEvent{ClinicID: p.ClinicID, Action: eonpro.ActionAuditExported, ResourceType: "audit_log",
		Detail: exportDetail(f, format)}
	if err := s.db.RecordAudit(ctx, ev); err != nil {
		return fmt.Errorf("export audit log: %w", err)
	}
	enc := newExportEncoder(format, w)
	if err := enc.begin(); err != nil {
		return err
	}
	var after *int64
	for {
		args[5] = after
		batch, err := s.exportBatch(ctx, p.ClinicID, args)
		if err != nil {
			return fmt.Errorf("export audit log: %w", err)
		}
		for _, ev := range batch {
			if err := enc.event(ev); err != nil {
				return err
			}
		}
		if len(batch) < auditExportBatch {
			return enc.end()
		}
		after = &batch[len(batch)-1].Seq
	}
}

// exportDetail records what was exported: the format and the filter.
func exportDetail(f eonpro.AuditFilter, format string) map[string]string {
	d := map[string]string{"format": format}
	if f.ActorID != nil {
		d["actor_id"] = *f.ActorID
	}
	if f.PatientID != nil {
		d["patient_id"] = *f.PatientID
	}
	if f.Action != nil {
		d["action"] = string(*f.Action)
	}
	if f.From != nil {
		d["from"] = f.From.UTC().Format(eonpro.AuditTimeLayout)
	}
	if f.To != nil {
		d["to"] = f.To.UTC().Format(eonpro.AuditTimeLayout)
	}
	return d
}

// exportBatch reads the next batch in a short read transaction of its own,
// so a slow client never holds one open.
func (s *AuditService) exportBatch(ctx context.Context, clinicID string, args []any) ([]*eonpro.AuditEvent, error) {
	var out []*eonpro.AuditEvent
	err := s.db.ViewClinic(ctx, clinicID, func(tx *Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, selectAuditExport, append(append([]any{clinicID}, args...), auditExportBatch)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev, err := scanAuditEvent(rows)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return rows.Err()
	})
	return out, err
}

// exportEncoder writes events as CSV or as one JSON array.
type exportEncoder struct {
	format string
	w      io.Writer
	csv    *csv.Writer
	n      int
}

func newExportEncoder(format string, w io.Writer) *exportEncoder {
	e := &exportEncoder{format: format, w: w}
	if format == eonpro.ExportCSV {
		e.csv = csv.NewWriter(w)
	}
	return e
}

func (e *exportEncoder) begin() error {
	if e.csv != nil {
		return e.csv.Write(auditCSVHeader)
	}
	_, err := io.WriteString(e.w, "[")
	return err
}

func (e *exportEncoder) event(ev *eonpro.AuditEvent) error {
	e.n++
	if e.csv != nil {
		if err := e.csv.Write(csvRecord(ev)); err != nil {
			return err
		}
		if e.n%auditExportBatch == 0 {
			e.csv.Flush()
		}
		return e.csv.Error()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if e.n > 1 {
		b = append([]byte(",\n"), b...)
	}
	_, err = e.w.Write(b)
	return err
}

func (e *exportEncoder) end() error {
	if e.csv != nil {
		e.csv.Flush()
		return e.csv.Error()
	}
	_, err := io.WriteString(e.w, "]\n")
	return err
}

func csvRecord(ev *eonpro.AuditEvent) []string {
	detail, _ := json.Marshal(ev.Detail)
	rec := []string{ev.ID, ev.Time.UTC().Format(eonpro.AuditTimeLayout), ev.ClinicID, strconv.FormatInt(ev.Seq, 10),
		ev.ActorType, ev.ActorID, ev.ActorRole, string(ev.Action), ev.ResourceType, ev.ResourceID, ev.PatientID,
		ev.Outcome, ev.IP, ev.UserAgent, ev.RequestID, ev.SessionID, string(detail), ev.PrevHash, ev.Hash}
	for i, v := range rec {
		rec[i] = neutralizeCell(v)
	}
	return rec
}

// neutralizeCell keeps a spreadsheet from running a cell as a formula (a
// user agent is the client's to choose): a value starting with = + - @ or
// a control character gets a leading apostrophe. The JSON export is the
// unaltered one, to verify hashes with.
func neutralizeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
