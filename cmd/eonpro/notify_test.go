package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro/ses/sesfake"
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

// TestMainServeSES: with SES configured, a password reset e-mail goes out
// through the SES adapter (to a fake that checks the SigV4 signature), not
// to the outbox, and its code sets a new password.
func TestMainServeSES(t *testing.T) {
	fake := sesfake.New()
	defer fake.Close()
	fake.VerifyIdentity("eonpro.test")
	t.Setenv("AWS_ACCESS_KEY_ID", sesfake.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sesfake.SecretKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	kv := map[string]string{
		"EONPRO_DATABASE_URL": sqltest.URL(t, sqlstore.SQLite),
		"EONPRO_SES_FROM":     "EONPRO <no-reply@eonpro.test>",
		"EONPRO_SES_ENDPOINT": fake.URL,
		"EONPRO_AWS_REGION":   sesfake.Region,
		"EONPRO_DATA_DIR":     t.TempDir(),
	}
	if _, err := runCmd(t, kv, "user", "create", "--email", "ada@sunrise.test", "--password", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	_, base := startMain(t, kv)
	if status := post(t, base+"/api/v1/auth/password/forgot", "", `{"email":"ada@sunrise.test"}`, nil); status != http.StatusAccepted {
		t.Fatalf("forgot: %d", status)
	}
	// The message goes out after the answer.
	var msgs []sesfake.SentEmail
	for deadline := time.Now().Add(10 * time.Second); len(msgs) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		msgs = fake.Messages()
	}
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "ada@sunrise.test" || msgs[0].From != "EONPRO <no-reply@eonpro.test>" {
		t.Fatalf("e-mails at SES: %+v", msgs)
	}
	code := regexp.MustCompile(`new password: (\S+)`).FindStringSubmatch(msgs[0].Text)
	if code == nil {
		t.Fatalf("no code in %q", msgs[0].Text)
	}
	if status := post(t, base+"/api/v1/auth/password/reset", "", `{"token":"`+code[1]+`","password":"a calm and long passphrase"}`, nil); status != http.StatusNoContent {
		t.Errorf("set password with the e-mailed code: %d", status)
	}
}

// post sends a JSON body (with a bearer token when given), decodes the
// answer into out when not nil, and returns the status.
func post(t *testing.T, url, token, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}
