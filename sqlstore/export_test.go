package sqlstore

import (
	"context"

	"github.com/eonpro/eonpro"
)

// RecordAuditTx exposes recordAudit to the external tests: the helper
// services call inside their own transactions.
func RecordAuditTx(ctx context.Context, tx *Tx, ev eonpro.AuditEvent) error {
	return recordAudit(ctx, tx, ev)
}
