package dex

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func grpcClient(t *testing.T, e *env) api.DexClient {
	t.Helper()
	addr, stop, err := e.srv.StartGRPC("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewDexClient(conn)
}

func rpcCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantRPCError(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	if s, _ := status.FromError(err); err == nil || s.Code() != code || !strings.Contains(s.Message(), msg) {
		t.Errorf("error %v, want %v containing %q", err, code, msg)
	}
}

func TestGRPCPasswords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := grpcClient(t, e)
	ctx := rpcCtx(t)
	hash := passwordHash(t)

	_, err := c.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "a@example.com", UserId: "1", Hash: cheapHash(t)}})
	wantRPCError(t, err, codes.Unknown, "given hash cost = 4 does not meet minimum cost requirement = 10")
	_, err = c.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "a@example.com", Hash: hash}})
	wantRPCError(t, err, codes.Unknown, "no user ID supplied")
	_, err = c.CreatePassword(ctx, &api.CreatePasswordReq{})
	wantRPCError(t, err, codes.Unknown, "no password supplied")

	created, err := c.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "Alice@Example.com", Username: "alice", UserId: "u-alice", Hash: hash}})
	if err != nil || created.AlreadyExists {
		t.Fatalf("create: %v %v", created, err)
	}
	again, err := c.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: "alice@example.com", UserId: "x", Hash: hash}})
	if err != nil || !again.AlreadyExists {
		t.Errorf("duplicate: %v %v", again, err)
	}
	_, err = c.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: testEmail, UserId: "x", Hash: hash}})
	wantRPCError(t, err, codes.Unknown, "static passwords: read-only cannot create password")

	list, err := c.ListPasswords(ctx, &api.ListPasswordReq{})
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, p := range list.Passwords {
		if p.Hash != nil {
			t.Errorf("hash listed for %s", p.Email)
		}
		emails = append(emails, p.Email)
	}
	sort.Strings(emails)
	if strings.Join(emails, ",") != "Alice@Example.com,user@example.com" {
		t.Errorf("list %v", emails)
	}

	verify := func(email, pw string) *api.VerifyPasswordResp {
		r, err := c.VerifyPassword(ctx, &api.VerifyPasswordReq{Email: email, Password: pw})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		return r
	}
	if r := verify("alice@example.com", testPassword); !r.Verified || r.NotFound {
		t.Errorf("verify good: %v", r)
	}
	if r := verify("alice@example.com", "wrong"); r.Verified || r.NotFound {
		t.Errorf("verify bad: %v", r)
	}
	if r := verify("ghost@example.com", "x"); !r.NotFound {
		t.Errorf("verify unknown: %v", r)
	}
	_, err = c.VerifyPassword(ctx, &api.VerifyPasswordReq{Email: "a"})
	wantRPCError(t, err, codes.Unknown, "no password to verify supplied")

	// The local connector logs the new user in by email, case-insensitively.
	r := e.postForm(e.startLogin(authQuery(nil)), url.Values{"login": {"ALICE@example.com"}, "password": {testPassword}})
	if r.status != 303 {
		t.Errorf("login as created user: %d", r.status)
	}

	up, err := c.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "alice@example.com", NewUsername: "alice2"})
	if err != nil || up.NotFound {
		t.Errorf("update: %v %v", up, err)
	}
	_, err = c.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "alice@example.com", NewHash: cheapHash(t)})
	wantRPCError(t, err, codes.Unknown, "does not meet minimum cost")
	_, err = c.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "alice@example.com"})
	wantRPCError(t, err, codes.Unknown, "nothing to update")
	if up, _ := c.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: "ghost@example.com", NewUsername: "g"}); !up.NotFound {
		t.Errorf("update unknown: %v", up)
	}

	del, err := c.DeletePassword(ctx, &api.DeletePasswordReq{Email: "alice@example.com"})
	if err != nil || del.NotFound {
		t.Errorf("delete: %v %v", del, err)
	}
	if del, _ := c.DeletePassword(ctx, &api.DeletePasswordReq{Email: "alice@example.com"}); !del.NotFound {
		t.Errorf("delete again: %v", del)
	}
	_, err = c.DeletePassword(ctx, &api.DeletePasswordReq{Email: testEmail})
	wantRPCError(t, err, codes.Unknown, "static passwords: read-only cannot delete password")
}

func TestGRPCClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := grpcClient(t, e)
	ctx := rpcCtx(t)

	gen, err := c.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Name: "generated", RedirectUris: []string{"https://app/cb"}}})
	if err != nil || len(gen.Client.Id) != 25 || len(gen.Client.Secret) != 50 {
		t.Fatalf("generated: %v %v", gen, err)
	}
	pub, err := c.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "cli", Name: "CLI", Public: true}})
	if err != nil || pub.Client.Secret != "" {
		t.Errorf("public client got a secret: %v %v", pub, err)
	}
	if dup, _ := c.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{Id: "cli", Public: true}}); !dup.AlreadyExists {
		t.Errorf("duplicate: %v", dup)
	}
	_, err = c.CreateClient(ctx, &api.CreateClientReq{})
	wantRPCError(t, err, codes.Unknown, "no client supplied")

	got, err := c.GetClient(ctx, &api.GetClientReq{Id: "cli"})
	if err != nil || !got.Client.Public || got.Client.Name != "CLI" {
		t.Errorf("get: %v %v", got, err)
	}
	_, err = c.GetClient(ctx, &api.GetClientReq{Id: "ghost"})
	wantRPCError(t, err, codes.Unknown, "not found")
	if got, err := c.GetClient(ctx, &api.GetClientReq{Id: confClient}); err != nil || got.Client.Secret != confSecret {
		t.Errorf("static client: %v %v", got, err)
	}

	// The public client without redirect URIs can do the OOB flow; after the update it cannot.
	oob := url.Values{"client_id": {"cli"}, "redirect_uri": {redirectURIOOB}, "response_type": {"code"}, "scope": {"openid"}}
	if r := e.get("/dex/auth/local?" + oob.Encode()); r.status != 302 {
		t.Errorf("OOB before update: %d", r.status)
	}
	upd, err := c.UpdateClient(ctx, &api.UpdateClientReq{Id: "cli", RedirectUris: []string{"http://localhost:9/cb"}, Name: "CLI 2"})
	if err != nil || upd.NotFound {
		t.Fatalf("update: %v %v", upd, err)
	}
	if r := e.get("/dex/auth/local?" + oob.Encode()); r.status != 400 {
		t.Errorf("OOB after update: %d", r.status)
	}
	if got, _ := c.GetClient(ctx, &api.GetClientReq{Id: "cli"}); got.Client.Name != "CLI 2" || !got.Client.Public {
		t.Errorf("after update: %v", got)
	}
	if upd, _ := c.UpdateClient(ctx, &api.UpdateClientReq{Id: "ghost", Name: "x"}); !upd.NotFound {
		t.Errorf("update unknown: %v", upd)
	}
	_, err = c.UpdateClient(ctx, &api.UpdateClientReq{Id: confClient, Name: "x"})
	wantRPCError(t, err, codes.Unknown, "static clients: read-only cannot update client")

	if del, err := c.DeleteClient(ctx, &api.DeleteClientReq{Id: "cli"}); err != nil || del.NotFound {
		t.Errorf("delete: %v %v", del, err)
	}
	if del, _ := c.DeleteClient(ctx, &api.DeleteClientReq{Id: "cli"}); !del.NotFound {
		t.Errorf("delete again: %v", del)
	}
}

func TestGRPCVersionDiscoveryAndUnimplemented(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Version = "v2.41.1-test" })
	c := grpcClient(t, e)
	ctx := rpcCtx(t)
	v, err := c.GetVersion(ctx, &api.VersionReq{})
	if err != nil || v.Server != "v2.41.1-test" || v.Api != 2 {
		t.Errorf("version: %v %v", v, err)
	}
	_, err = c.GetDiscovery(ctx, &api.DiscoveryReq{})
	wantRPCError(t, err, codes.Unimplemented, "GetDiscovery")
	_, err = c.CreateConnector(ctx, &api.CreateConnectorReq{})
	wantRPCError(t, err, codes.Unknown, "api_connectors_crud feature flag is not enabled")
	refresh, err := c.ListRefresh(ctx, &api.ListRefreshReq{UserId: Subject(testUserID, "local")})
	if err != nil || len(refresh.RefreshTokens) != 0 {
		t.Errorf("list refresh: %v %v", refresh, err)
	}
	_, err = c.ListRefresh(ctx, &api.ListRefreshReq{UserId: "!!"})
	wantRPCError(t, err, codes.Unknown, "illegal base64")
	if rv, err := c.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: Subject(testUserID, "local"), ClientId: confClient}); err != nil || !rv.NotFound {
		t.Errorf("revoke: %v %v", rv, err)
	}

	withDiscovery := newEnv(t, func(c *Config) { c.GRPCDiscovery = true })
	d, err := grpcClient(t, withDiscovery).GetDiscovery(ctx, &api.DiscoveryReq{})
	if err != nil || d.Issuer != withDiscovery.issuer() || d.TokenEndpoint != withDiscovery.issuer()+"/token" || len(d.CodeChallengeMethodsSupported) != 2 {
		t.Errorf("discovery: %v %v", d, err)
	}
}

func TestGRPCStopIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, stop, err := e.srv.StartGRPC("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	stop()
	if _, _, err := e.srv.StartGRPC("256.0.0.1:0"); err == nil {
		t.Error("bad address accepted")
	}
}
