package components

import (
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// DescribeUsers puts users (with their passwords) into a target file as its users section, an LDAP user's
// username where it is not the email, and the OOB client where profile p has it.
func DescribeUsers(f *target.File, p *profile.Profile, users []profile.User) {
	for _, u := range users {
		us := target.UserSpec{Email: u.Email, Password: u.Password, Connector: u.Connector, Namespace: u.Namespace}
		if u.Connector == "ldap" && u.Username != u.Email {
			us.Username = u.Username
		}
		f.Users = append(f.Users, us)
	}
	if p.Has(target.CapOOBClient) {
		f.OOBClientID = p.OOBClientID()
	}
}

// UsersWithPasswords copies the profile's users with the passwords in override (by email) put in.
func UsersWithPasswords(users []profile.User, override map[string]string) []profile.User {
	out := make([]profile.User, len(users))
	copy(out, users)
	for i := range out {
		if pw, ok := override[out[i].Email]; ok {
			out[i].Password = pw
		}
	}
	return out
}
