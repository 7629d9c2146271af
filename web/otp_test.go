package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// phoneCode finds the code in the sign-in SMS.
var phoneCode = regexp.MustCompile(`code is ([0-9]{6})\.`)

// phoneUser makes a patient of alpha with a phone number.
func (e *idEnv) phoneUser(email, phone string) *eonpro.User {
	e.t.Helper()
	svc := sqlstore.NewUserService(e.db, e.notify, nil)
	u, err := svc.CreateUser(context.Background(), eonpro.NewUser{Email: email, Password: testPassword, Name: "Patient", Phone: phone})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := svc.AddMembership(context.Background(), u.ID, e.clinics["alpha"].ID, eonpro.RolePatient); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func TestPhoneCode(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		send := func(e *idEnv, phone string) response {
			e.t.Helper()
			return e.do("POST", "/api/v1/auth/otp/send", map[string]string{"phone": phone})
		}
		verify := func(e *idEnv, phone, code string) response {
			e.t.Helper()
			return e.do("POST", "/api/v1/auth/otp/verify", map[string]string{"phone": phone, "code": code})
		}
		// codeFor sends a code and returns it, with a wrong one.
		codeFor := func(e *idEnv, phone string) (string, string) {
			e.t.Helper()
			if res := send(e, phone); res.Status != http.StatusAccepted {
				e.t.Fatalf("send: %d %s, want 202", res.Status, res.Raw)
			}
			code := e.sentCode(phone, phoneCode)
			return code, fmt.Sprintf("%06d", (mustAtoi(e.t, code)+1)%1_000_000)
		}
		unauthn := func(t *testing.T, res response, what string) {
			t.Helper()
			if res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("%s: %d %s, want 401", what, res.Status, res.Raw)
			}
		}

		t.Run("OK", func(t *testing.T) {
			e := e.under(t)
			u := e.phoneUser("pat@alpha.test", "+15125550100")
			code, _ := codeFor(e, "+15125550100")
			res := verify(e, "+15125550100", code)
			var got loginBody
			decode(t, res, &got)
			if res.Status != http.StatusOK || got.Token == "" || got.User.ID != u.ID || setCookie(res, sessionCookiePlain) == nil {
				t.Fatalf("verify: %d %s", res.Status, res.Raw)
			}
			if me := e.do("GET", "/api/v1/me", nil, bearer(got.Token)...); me.Status != http.StatusOK || me.Body["role"] != "patient" {
				t.Errorf("GET /me with the phone session: %d %s", me.Status, me.Raw)
			}
			unauthn(t, verify(e, "+15125550100", code), "second use of the code")
		})

		t.Run("UnknownNumber", func(t *testing.T) {
			e := e.under(t)
			e.phoneUser("known@alpha.test", "+15125550101")
			known := send(e, "+15125550101")
			unknown := send(e, "+15125550199")
			if unknown.Status != http.StatusAccepted || string(known.Raw) != string(unknown.Raw) {
				t.Errorf("unknown number: %d %s, known: %d %s", unknown.Status, unknown.Raw, known.Status, known.Raw)
			}
			e.noMessage("+15125550199")
			unauthn(t, verify(e, "+15125550199", "123456"), "verify for an unknown number")
		})

		t.Run("ErrBadInput", func(t *testing.T) {
			e := e.under(t)
			for _, phone := range []string{"5125550100", "+1 512 555 0100", "+0123456789", "+1234"} {
				if res := send(e, phone); res.Status != http.StatusUnprocessableEntity || res.field("phone") == "" {
					t.Errorf("send to %q: %d %s, want 422 field phone", phone, res.Status, res.Raw)
				}
				if res := verify(e, phone, "123456"); res.Status != http.StatusUnprocessableEntity || res.field("phone") == "" {
					t.Errorf("verify %q: %d %s, want 422 field phone", phone, res.Status, res.Raw)
				}
			}
			if res := verify(e, "", ""); res.Status != http.StatusUnprocessableEntity || res.field("phone") == "" || res.field("code") == "" {
				t.Errorf("verify without fields: %d %s, want 422 naming phone and code", res.Status, res.Raw)
			}
		})

		t.Run("ErrTooManyTries", func(t *testing.T) {
			e := e.under(t)
			e.phoneUser("guess@alpha.test", "+15125550102")
			code, wrong := codeFor(e, "+15125550102")
			for i := range 5 {
				unauthn(t, verify(e, "+15125550102", wrong), fmt.Sprintf("wrong code %d", i+1))
			}
			unauthn(t, verify(e, "+15125550102", code), "the right code after 5 wrong ones")
		})

		t.Run("ErrExpired", func(t *testing.T) {
			e := e.under(t)
			e.phoneUser("late@alpha.test", "+15125550103")
			code, _ := codeFor(e, "+15125550103")
			e.clock.Add(10 * time.Minute)
			unauthn(t, verify(e, "+15125550103", code), "code at 10 min")
			code, _ = codeFor(e, "+15125550103")
			e.clock.Add(10*time.Minute - time.Second)
			if res := verify(e, "+15125550103", code); res.Status != http.StatusOK {
				t.Errorf("code at 9:59: %d %s, want 200", res.Status, res.Raw)
			}
		})
	})
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
