package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// demoPassword signs in every demo user. Demo data is fake: names from a
// fixed list, example.test addresses and 555-01xx phone numbers.
const demoPassword = "eonpro-demo-2026"

// demoClinic describes one demo clinic.
type demoClinic struct {
	slug, name string
	// providers: name, credential, NPI, DEA, licensed state
	providers [2][5]string
}

var demoClinics = []demoClinic{
	{"sunrise", "Sunrise Telehealth (demo)", [2][5]string{
		{"Avery Quinn", "MD", "1234567893", "AA1234563", "TX"},
		{"Blake Rivera", "NP", "1987654328", "BB2345672", "CA"}}},
	{"lakeside", "Lakeside Family Care (demo)", [2][5]string{
		{"Casey Morgan", "DO", "1456789019", "FC3456781", "NY"},
		{"Devon Ellis", "PA", "1765432103", "MD4567890", "FL"}}},
}

var demoPatients = [][2]string{
	{"Alex", "Smith"}, {"Jordan", "Smithers"}, {"Taylor", "Nguyen"}, {"Morgan", "García"}, {"Riley", "Okafor"},
	{"Sam", "Kowalski"}, {"Jamie", "Brennan"}, {"Robin", "Haddad"}, {"Drew", "Lindqvist"}, {"Quinn", "Muñoz"},
	{"Parker", "Tanaka"}, {"Reese", "O'Brien"},
}

var demoStates = []string{"TX", "CA", "NY", "FL", "WA", "IL"}

// errDemoPresent means the demo clinics exist already.
var errDemoPresent = errors.New("demo data is already present")

// seedDemo creates the demo clinics, people and patients and prints how to
// sign in. With onlyIfEmpty it does nothing on a database with clinics.
func (m *Main) seedDemo(ctx context.Context, onlyIfEmpty bool) error {
	clinics := sqlstore.NewClinicService(m.db)
	existing, err := clinics.FindClinics(ctx)
	if err != nil {
		return err
	}
	if onlyIfEmpty && len(existing) > 0 {
		return nil
	}
	for _, c := range existing {
		if c.Slug == demoClinics[0].slug {
			m.printDemoLogins()
			return errDemoPresent
		}
	}
	var adminCtx context.Context
	for _, dc := range demoClinics {
		if adminCtx, err = m.seedClinic(ctx, dc); err != nil {
			return fmt.Errorf("seed %s: %w", dc.slug, err)
		}
	}
	// A pending invitation shows how joining works: the last clinic
	// invites the first one's provider, who sees it on signing in.
	users := sqlstore.NewUserService(m.db, sqlstore.NewOutboxNotifier(m.db, quieter(m.log, slog.LevelWarn)), nil)
	invited := "provider1@" + demoClinics[0].slug + ".example.test"
	if _, err := users.InviteMember(adminCtx, eonpro.NewInvitation{Email: invited, Role: eonpro.RoleProvider}); err != nil {
		return fmt.Errorf("seed invitation: %w", err)
	}
	m.printDemoLogins()
	return nil
}

// seedClinic creates one demo clinic and returns the context of its admin.
func (m *Main) seedClinic(ctx context.Context, dc demoClinic) (context.Context, error) {
	clinics := sqlstore.NewClinicService(m.db)
	users := sqlstore.NewUserService(m.db, nil, nil)
	c, err := clinics.CreateClinic(ctx, dc.slug, dc.name)
	if err != nil {
		return nil, err
	}
	// Demo sign-ins need no authenticator app; real clinics keep the
	// default policy (2FA for every role but patient).
	pol := eonpro.DefaultSecurityPolicy()
	pol.MFARoles = []eonpro.Role{}
	if _, err := clinics.UpdateClinic(ctx, c.ID, eonpro.ClinicUpdate{SecurityPolicy: &pol}); err != nil {
		return nil, err
	}
	system := ctx // operators' commands run as the system
	member := func(local, name string, role eonpro.Role) (*eonpro.User, error) {
		u, err := users.CreateUser(system, eonpro.NewUser{Email: local + "@" + dc.slug + ".example.test", Password: demoPassword, Name: name})
		if err != nil {
			return nil, err
		}
		return u, users.AddMembership(system, u.ID, c.ID, role)
	}
	admin, err := member("admin", "Demo Admin", eonpro.RoleAdmin)
	if err != nil {
		return nil, err
	}
	if _, err := member("staff", "Demo Staff", eonpro.RoleStaff); err != nil {
		return nil, err
	}
	// The rest is entered as the clinic's admin would, through the services.
	ctx = eonpro.NewContextWithPrincipal(ctx, &eonpro.Principal{UserID: admin.ID, ClinicID: c.ID,
		Role: eonpro.RoleAdmin, Permissions: eonpro.RolePermissions[eonpro.RoleAdmin]})
	providers := sqlstore.NewProviderService(m.db)
	for i, p := range dc.providers {
		u, err := member(fmt.Sprintf("provider%d", i+1), p[0], eonpro.RoleProvider)
		if err != nil {
			return nil, err
		}
		accepting := true
		_, err = providers.CreateProvider(ctx, eonpro.NewProvider{UserID: u.ID, Credentials: []string{p[1]}, NPI: p[2],
			DEANumber: p[3], Specialties: []string{"Primary care"}, Bio: "Demo provider.", AcceptingNewPatients: &accepting,
			Licenses: []eonpro.NewLicense{{State: p[4], Number: fmt.Sprintf("DEMO-%s-%d", p[4], 1000+i), ExpiresOn: "2030-12-31"}}})
		if err != nil {
			return nil, err
		}
	}
	// The first patient signs in to the portal.
	portal, err := member("patient", demoPatients[0][0]+" "+demoPatients[0][1], eonpro.RolePatient)
	if err != nil {
		return nil, err
	}
	return ctx, m.seedPatients(ctx, dc, portal.ID)
}

// seedPatients adds the demo patients; the first is linked to the portal
// user portalID.
func (m *Main) seedPatients(ctx context.Context, dc demoClinic, portalID string) error {
	patients := sqlstore.NewPatientService(m.db, m.ring)
	for i, n := range demoPatients {
		var user string
		var allergies []eonpro.Allergy
		var meds []eonpro.Medication
		if i == 0 {
			// The portal patient has a chart worth looking at.
			user = portalID
			allergies = []eonpro.Allergy{{Substance: "Penicillin", Reaction: "hives", Severity: "severe"}}
			meds = []eonpro.Medication{{Name: "Lisinopril", Dose: "10 mg", Frequency: "once a day"}}
		}
		p, err := patients.CreatePatient(ctx, eonpro.NewPatient{UserID: user, Allergies: allergies, Medications: meds,
			GivenName: n[0], FamilyName: n[1],
			DateOfBirth: fmt.Sprintf("%d-%02d-%02d", 1950+i*4, 1+i%12, 1+i*2),
			SexAtBirth:  []string{"female", "male"}[i%2],
			Email:       fmt.Sprintf("patient%02d@%s.example.test", i+1, dc.slug),
			Phone:       fmt.Sprintf("+1512555%04d", 100+i),
			Address: eonpro.Address{Line1: fmt.Sprintf("%d Demo Street", 100+i), City: "Demo City",
				State: demoStates[i%len(demoStates)], PostalCode: fmt.Sprintf("7%04d", 8700+i)},
			Tags: []string{"demo"},
		})
		if err != nil {
			return err
		}
		if i == 0 {
			_, err = sqlstore.NewConsentService(m.db, m.ring).CreateConsent(ctx, p.ID, eonpro.NewConsent{
				Kind: eonpro.ConsentTelehealth, Version: "2026-01", SignedName: n[0] + " " + n[1]})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Main) printDemoLogins() {
	fmt.Fprintf(m.Stdout, "Demo data (fake). Every demo user's password is %s\n", demoPassword)
	for _, dc := range demoClinics {
		fmt.Fprintf(m.Stdout, "  %s (X-Clinic: %s):\n", dc.name, dc.slug)
		for _, who := range []string{"admin", "provider1", "provider2", "staff", "patient"} {
			fmt.Fprintf(m.Stdout, "    %s@%s.example.test\n", who, dc.slug)
		}
	}
	fmt.Fprintf(m.Stdout, "  provider1@%s.example.test has a pending invitation from %s (see /invitations)\n",
		demoClinics[0].slug, demoClinics[len(demoClinics)-1].name)
	fmt.Fprintf(m.Stdout, "Open http://%s in a browser, or sign in to the API: curl -s -X POST http://%s/api/v1/auth/login -d '{\"email\":\"admin@sunrise.example.test\",\"password\":\"%s\"}'\n",
		dialAddr(m.Config.Addr), dialAddr(m.Config.Addr), demoPassword)
}

// dialAddr turns a listen address into one to call: ":8080" is
// localhost:8080.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
