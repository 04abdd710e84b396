package kind

import (
	"embed"
	"fmt"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
)

// manifests are the kind tier's deployments (the KFP API stand-in, the PodDefault webhook, Dex, oauth2-proxy and
// the gateway) as YAML templates with ${VAR} placeholders, as fixtures.Render fills them. The manifests that are
// not the kind tier's own (RBAC, profile namespaces, PodDefaults, the probe Job) are fixtures/manifests.
//
//go:embed manifests/*.yaml
var manifests embed.FS

// Manifests are the kind tier's manifest templates, under manifests/ (tests read them to check the commands
// they run).
var Manifests = manifests

// Manifest file names.
const (
	kfpStandInManifest     = "kind-kfp-standin.yaml"
	podDefaultHookManifest = "kind-poddefault-webhook.yaml"
	dexManifest            = "kind-dex.yaml"
	oauth2ProxyManifest    = "kind-oauth2-proxy.yaml"
	gatewayManifest        = "kind-gateway.yaml"
)

// render fills the placeholders of one of the kind tier's manifests; a placeholder without a value is an error.
func render(file string, vars map[string]string) ([][]byte, error) {
	raw, err := manifests.ReadFile("manifests/" + file)
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", file, err)
	}
	return fixtures.Fill(file, raw, vars)
}
