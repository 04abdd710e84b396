package kube

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
)

// ContextName is the kubeconfig context the stand-in writes, named as kind names its own.
const ContextName = "kfp-authcheck-embedded"

// Kubeconfig is a kubeconfig for the admin user (a bearer token; the token is a secret).
func (s *Server) Kubeconfig() ([]byte, error) {
	c := clientcmdapi.NewConfig()
	c.Clusters[ContextName] = &clientcmdapi.Cluster{Server: s.url, CertificateAuthorityData: s.ca.CAPEM}
	c.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{Token: s.adminToken}
	c.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: AdminUser, Namespace: "default"}
	c.CurrentContext = ContextName
	b, err := clientcmd.Write(*c)
	if err != nil {
		return nil, fmt.Errorf("kube: kubeconfig: %w", err)
	}
	return b, nil
}

// WriteKubeconfig writes Kubeconfig to path, mode 0600, atomically.
func (s *Server) WriteKubeconfig(path string) error {
	b, err := s.Kubeconfig()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}
