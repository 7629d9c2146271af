package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// adminFlags are the flags of the operator commands.
type adminFlags struct {
	slug, name, email, password, phone, clinic, role string
	superAdmin                                       bool
}

func (a *adminFlags) register(command string, fs *flag.FlagSet) {
	switch command {
	case "clinic create":
		fs.StringVar(&a.slug, "slug", "", "clinic slug: lower-case letters, digits and hyphens")
		fs.StringVar(&a.name, "name", "", "clinic name")
	case "user create":
		fs.StringVar(&a.email, "email", "", "e-mail address")
		fs.StringVar(&a.password, "password", "", "password (12 to 128 characters, not a common one)")
		fs.StringVar(&a.name, "name", "", "full name")
		fs.StringVar(&a.phone, "phone", "", "phone in E.164 form, for phone-code sign-in")
		fs.BoolVar(&a.superAdmin, "super-admin", false, "platform administrator")
		fs.StringVar(&a.clinic, "clinic", "", "slug of a clinic to add the user to")
		fs.StringVar(&a.role, "role", "", "role in --clinic: admin, provider, staff, billing, patient or affiliate")
	}
}

// runAdmin runs an operator command as the system (no principal) and
// prints the new id.
func (m *Main) runAdmin(ctx context.Context) error {
	a := m.admin
	clinics := sqlstore.NewClinicService(m.db)
	if m.Command == "clinic create" {
		c, err := clinics.CreateClinic(ctx, a.slug, a.name)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(m.Stdout, c.ID)
		return nil
	}
	if (a.clinic == "") != (a.role == "") {
		return usageError{"--clinic and --role go together"}
	}
	if a.password == "" {
		return usageError{"--password is required"}
	}
	var clinicID string
	if a.clinic != "" {
		c, err := clinics.FindClinicByRef(ctx, a.clinic)
		if err != nil {
			return describe(err)
		}
		clinicID = c.ID
	}
	users := sqlstore.NewUserService(m.db, nil, nil)
	u, err := users.CreateUser(ctx, eonpro.NewUser{Email: a.email, Password: a.password, Name: a.name, Phone: a.phone, SuperAdmin: a.superAdmin})
	if err != nil {
		return describe(err)
	}
	if clinicID != "" {
		if err := users.AddMembership(ctx, u.ID, clinicID, eonpro.Role(a.role)); err != nil {
			return describe(err)
		}
	}
	fmt.Fprintln(m.Stdout, u.ID)
	return nil
}

// describe turns a coded error into one line with its field errors.
func describe(err error) error {
	var e *eonpro.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := e.Message
	for k, v := range e.Fields {
		msg += fmt.Sprintf(" %s: %s.", k, strings.TrimSuffix(v, "."))
	}
	return errors.New(strings.TrimSpace(msg))
}
