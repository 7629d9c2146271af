package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
	"github.com/eonpro/eonpro/twilio/twiliofake"
)

// TestMainServeTwilio: with Twilio configured, a patient's sign-in code
// goes out through the Twilio adapter (to a fake that speaks Twilio's wire
// format), not to the outbox, and signs the patient in.
func TestMainServeTwilio(t *testing.T) {
	fake := twiliofake.New()
	defer fake.Close()
	kv := map[string]string{
		"EONPRO_DATABASE_URL":       sqltest.URL(t, sqlstore.SQLite),
		"EONPRO_TWILIO_ACCOUNT_SID": fake.AccountSID,
		"EONPRO_TWILIO_AUTH_TOKEN":  fake.AuthToken,
		"EONPRO_TWILIO_FROM":        "+15125550100",
		"EONPRO_TWILIO_BASE_URL":    fake.URL,
		"EONPRO_DATA_DIR":           t.TempDir(),
	}
	if _, err := runCmd(t, kv, "user", "create", "--email", "pat@sunrise.test", "--password", "correct horse battery staple",
		"--phone", "+15125550177"); err != nil {
		t.Fatal(err)
	}
	_, base := startMain(t, kv)
	res, err := http.Post(base+"/api/v1/auth/otp/send", "application/json", strings.NewReader(`{"phone":"+15125550177"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("send code: %d", res.StatusCode)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].To != "+15125550177" || msgs[0].From != "+15125550100" {
		t.Fatalf("messages at Twilio: %+v", msgs)
	}
	code := regexp.MustCompile(`\b(\d{6})\b`).FindString(msgs[0].Body)
	res, err = http.Post(base+"/api/v1/auth/otp/verify", "application/json",
		strings.NewReader(`{"phone":"+15125550177","code":"`+code+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("sign in with the texted code %q: %d", code, res.StatusCode)
	}
}
