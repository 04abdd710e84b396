package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/ldapserver"
)

// newLDAPDirectoryCmd serves the fixture directory over LDAP: the kind tier runs it beside Dex (a second container
// in Dex's pod) for the profiles with an ldap connector.
func newLDAPDirectoryCmd(stderr io.Writer) *cobra.Command {
	listen := ""
	cmd := &cobra.Command{
		Use:   "ldap-directory",
		Short: "Serve the fixture LDAP directory (fixtures/ldap/directory.ldif) over plain LDAP",
		Long: `ldap-directory serves fixtures/ldap/directory.ldif, the directory the profiles' LDAP settings and users
are written against, with the project's LDAP server (mocks/ldapserver: simple binds, searches that evaluate their
filters, the same answers as OpenLDAP's slapd with that directory, which the local tier's tests compare). The kind
tier runs it beside Dex, whose ldap connector reaches it on the pod's loopback. It serves until SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, err := ldapserver.StartLDIFOn(listen, fixtures.DirectoryLDIF)
			if err != nil {
				return usageErr("--listen %s: %v", listen, err)
			}
			fmt.Fprintf(stderr, "ldap-directory: fixtures/ldap/directory.ldif on %s\n", srv.URL())
			<-cmd.Context().Done()
			done := make(chan error, 1)
			go func() { done <- srv.Close() }()
			select {
			case err := <-done:
				return err
			case <-time.After(10 * time.Second):
				return fmt.Errorf("ldap-directory: connections did not close within 10s")
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "the address to serve on (the kind manifest gives 127.0.0.1:3890, Dex's pod's loopback)")
	return cmd
}
