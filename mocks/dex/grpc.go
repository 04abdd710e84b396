package dex

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// grpcStopGrace bounds how long stop waits for in-flight RPCs before cutting them off.
const grpcStopGrace = 5 * time.Second

// StartGRPC serves Dex's gRPC API (github.com/dexidp/dex/api/v2) without TLS on addr, e.g. "127.0.0.1:0". It
// returns the address it listens on and a stop function that is safe to call more than once.
func (s *Server) StartGRPC(addr string) (string, func(), error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("dex grpc: listen on %s: %w", addr, err)
	}
	srv := grpc.NewServer()
	api.RegisterDexServer(srv, &grpcAPI{s: s})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			done := make(chan struct{})
			go func() { srv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-time.After(grpcStopGrace):
				srv.Stop()
			}
			<-served
		})
	}
	return lis.Addr().String(), stop, nil
}

// grpcAPI is server/api.go dexAPI. Its errors are plain errors, which gRPC reports as codes.Unknown, exactly what
// Dex's clients see; RPCs Dex v2.41.1 does not implement come from UnimplementedDexServer.
type grpcAPI struct {
	api.UnimplementedDexServer
	s *Server
}

func toAPIClient(c Client) *api.Client {
	return &api.Client{
		Id: c.ID, Secret: c.Secret, Name: c.Name, RedirectUris: c.RedirectURIs,
		TrustedPeers: c.TrustedPeers, Public: c.Public, LogoUrl: c.LogoURL,
	}
}

func (g *grpcAPI) GetClient(_ context.Context, req *api.GetClientReq) (*api.GetClientResp, error) {
	c, err := g.s.store.getClient(req.Id)
	if err != nil {
		return nil, err
	}
	return &api.GetClientResp{Client: toAPIClient(c)}, nil
}

func (g *grpcAPI) CreateClient(_ context.Context, req *api.CreateClientReq) (*api.CreateClientResp, error) {
	if req.Client == nil {
		return nil, errors.New("no client supplied")
	}
	if req.Client.Id == "" {
		req.Client.Id = newID()
	}
	if req.Client.Secret == "" && !req.Client.Public {
		req.Client.Secret = newID() + newID()
	}
	c := Client{
		ID: req.Client.Id, Secret: req.Client.Secret, Name: req.Client.Name, RedirectURIs: req.Client.RedirectUris,
		TrustedPeers: req.Client.TrustedPeers, Public: req.Client.Public, LogoURL: req.Client.LogoUrl,
	}
	if err := g.s.store.createClient(c); err != nil {
		if errors.Is(err, errAlreadyExists) {
			return &api.CreateClientResp{AlreadyExists: true}, nil
		}
		return nil, fmt.Errorf("create client: %w", err)
	}
	return &api.CreateClientResp{Client: req.Client}, nil
}

// UpdateClient changes only redirect URIs, trusted peers, name and logo; Dex ignores secret and public here.
func (g *grpcAPI) UpdateClient(_ context.Context, req *api.UpdateClientReq) (*api.UpdateClientResp, error) {
	if req.Id == "" {
		return nil, errors.New("update client: no client ID supplied")
	}
	err := g.s.store.updateClient(req.Id, func(old Client) Client {
		if req.RedirectUris != nil {
			old.RedirectURIs = req.RedirectUris
		}
		if req.TrustedPeers != nil {
			old.TrustedPeers = req.TrustedPeers
		}
		if req.Name != "" {
			old.Name = req.Name
		}
		if req.LogoUrl != "" {
			old.LogoURL = req.LogoUrl
		}
		return old
	})
	if err != nil {
		if errors.Is(err, errNotFound) {
			return &api.UpdateClientResp{NotFound: true}, nil
		}
		return nil, fmt.Errorf("update client: %w", err)
	}
	return &api.UpdateClientResp{}, nil
}

func (g *grpcAPI) DeleteClient(_ context.Context, req *api.DeleteClientReq) (*api.DeleteClientResp, error) {
	if err := g.s.store.deleteClient(req.Id); err != nil {
		if errors.Is(err, errNotFound) {
			return &api.DeleteClientResp{NotFound: true}, nil
		}
		return nil, fmt.Errorf("delete client: %w", err)
	}
	return &api.DeleteClientResp{}, nil
}

// CreatePassword stores the bcrypt hash as given, refusing costs outside [10, 16] like checkCost.
func (g *grpcAPI) CreatePassword(_ context.Context, req *api.CreatePasswordReq) (*api.CreatePasswordResp, error) {
	if req.Password == nil {
		return nil, errors.New("no password supplied")
	}
	if req.Password.UserId == "" {
		return nil, errors.New("no user ID supplied")
	}
	if req.Password.Hash == nil {
		return nil, errors.New("no hash of password supplied")
	}
	if err := checkCost(req.Password.Hash); err != nil {
		return nil, err
	}
	p := Password{Email: req.Password.Email, Hash: req.Password.Hash, Username: req.Password.Username, UserID: req.Password.UserId}
	if err := g.s.store.createPassword(p); err != nil {
		if errors.Is(err, errAlreadyExists) {
			return &api.CreatePasswordResp{AlreadyExists: true}, nil
		}
		return nil, fmt.Errorf("create password: %w", err)
	}
	return &api.CreatePasswordResp{}, nil
}

func (g *grpcAPI) UpdatePassword(_ context.Context, req *api.UpdatePasswordReq) (*api.UpdatePasswordResp, error) {
	if req.Email == "" {
		return nil, errors.New("no email supplied")
	}
	if req.NewHash == nil && req.NewUsername == "" {
		return nil, errors.New("nothing to update")
	}
	if req.NewHash != nil {
		if err := checkCost(req.NewHash); err != nil {
			return nil, err
		}
	}
	err := g.s.store.updatePassword(req.Email, func(old Password) Password {
		if req.NewHash != nil {
			old.Hash = append([]byte(nil), req.NewHash...)
		}
		if req.NewUsername != "" {
			old.Username = req.NewUsername
		}
		return old
	})
	if err != nil {
		if errors.Is(err, errNotFound) {
			return &api.UpdatePasswordResp{NotFound: true}, nil
		}
		return nil, fmt.Errorf("update password: %w", err)
	}
	return &api.UpdatePasswordResp{}, nil
}

func (g *grpcAPI) DeletePassword(_ context.Context, req *api.DeletePasswordReq) (*api.DeletePasswordResp, error) {
	if req.Email == "" {
		return nil, errors.New("no email supplied")
	}
	if err := g.s.store.deletePassword(req.Email); err != nil {
		if errors.Is(err, errNotFound) {
			return &api.DeletePasswordResp{NotFound: true}, nil
		}
		return nil, fmt.Errorf("delete password: %w", err)
	}
	return &api.DeletePasswordResp{}, nil
}

// ListPasswords never returns hashes, as in Dex.
func (g *grpcAPI) ListPasswords(context.Context, *api.ListPasswordReq) (*api.ListPasswordResp, error) {
	list := g.s.store.listPasswords()
	out := make([]*api.Password, 0, len(list))
	for _, p := range list {
		out = append(out, &api.Password{Email: p.Email, Username: p.Username, UserId: p.UserID})
	}
	return &api.ListPasswordResp{Passwords: out}, nil
}

func (g *grpcAPI) VerifyPassword(_ context.Context, req *api.VerifyPasswordReq) (*api.VerifyPasswordResp, error) {
	if req.Email == "" {
		return nil, errors.New("no email supplied")
	}
	if req.Password == "" {
		return nil, errors.New("no password to verify supplied")
	}
	p, err := g.s.store.getPassword(req.Email)
	if err != nil {
		return &api.VerifyPasswordResp{NotFound: true}, nil
	}
	if !passwordMatches(p.Hash, req.Password) {
		return &api.VerifyPasswordResp{Verified: false}, nil
	}
	return &api.VerifyPasswordResp{Verified: true}, nil
}

// apiVersion is server/api.go apiVersion.
const apiVersion = 2

func (g *grpcAPI) GetVersion(context.Context, *api.VersionReq) (*api.VersionResp, error) {
	return &api.VersionResp{Server: g.s.version, Api: apiVersion}, nil
}

// GetDiscovery is absent from Dex v2.41.1; it answers only when Config.GRPCDiscovery asks for a later Dex.
func (g *grpcAPI) GetDiscovery(context.Context, *api.DiscoveryReq) (*api.DiscoveryResp, error) {
	if !g.s.grpcDiscovery {
		return nil, status.Error(codes.Unimplemented, "method GetDiscovery not implemented")
	}
	d := g.s.discovery
	return &api.DiscoveryResp{
		Issuer:                            d.Issuer,
		AuthorizationEndpoint:             d.Auth,
		TokenEndpoint:                     d.Token,
		JwksUri:                           d.Keys,
		UserinfoEndpoint:                  d.UserInfo,
		DeviceAuthorizationEndpoint:       d.DeviceEndpoint,
		IntrospectionEndpoint:             d.Introspect,
		GrantTypesSupported:               d.GrantTypes,
		ResponseTypesSupported:            d.ResponseTypes,
		SubjectTypesSupported:             d.Subjects,
		IdTokenSigningAlgValuesSupported:  d.IDTokenAlgs,
		CodeChallengeMethodsSupported:     d.CodeChallengeAlgs,
		ScopesSupported:                   d.Scopes,
		TokenEndpointAuthMethodsSupported: d.AuthMethods,
		ClaimsSupported:                   d.Claims,
	}, nil
}

// errConnectorsCRUD is what Dex v2.41.1 answers while the api_connectors_crud feature flag is off (the default).
var errConnectorsCRUD = errors.New("api_connectors_crud feature flag is not enabled")

func (g *grpcAPI) CreateConnector(context.Context, *api.CreateConnectorReq) (*api.CreateConnectorResp, error) {
	return nil, errConnectorsCRUD
}

func (g *grpcAPI) UpdateConnector(context.Context, *api.UpdateConnectorReq) (*api.UpdateConnectorResp, error) {
	return nil, errConnectorsCRUD
}

func (g *grpcAPI) DeleteConnector(context.Context, *api.DeleteConnectorReq) (*api.DeleteConnectorResp, error) {
	return nil, errConnectorsCRUD
}

func (g *grpcAPI) ListConnectors(context.Context, *api.ListConnectorReq) (*api.ListConnectorResp, error) {
	return nil, errConnectorsCRUD
}

// ListRefresh is dexAPI.ListRefresh: the refresh tokens of the user's offline session (the subject is the ID
// token's sub), one per client; none is an empty list, not an error.
func (g *grpcAPI) ListRefresh(_ context.Context, req *api.ListRefreshReq) (*api.ListRefreshResp, error) {
	if err := validSubject(req.UserId); err != nil {
		return nil, err
	}
	userID, connID, _ := parseStringPair(req.UserId)
	resp := &api.ListRefreshResp{}
	for _, ref := range g.s.store.listRefresh(userID, connID) {
		resp.RefreshTokens = append(resp.RefreshTokens, &api.RefreshTokenRef{Id: ref.ID, ClientId: ref.ClientID,
			CreatedAt: ref.CreatedAt.Unix(), LastUsed: ref.LastUsed.Unix()})
	}
	return resp, nil
}

// RevokeRefresh is dexAPI.RevokeRefresh: the client's refresh token of that user is deleted; NotFound when
// there was none.
func (g *grpcAPI) RevokeRefresh(_ context.Context, req *api.RevokeRefreshReq) (*api.RevokeRefreshResp, error) {
	if err := validSubject(req.UserId); err != nil {
		return nil, err
	}
	userID, connID, _ := parseStringPair(req.UserId)
	if !g.s.store.revokeRefresh(userID, connID, req.ClientId) {
		return &api.RevokeRefreshResp{NotFound: true}, nil
	}
	return &api.RevokeRefreshResp{}, nil
}

// validSubject checks that s is base64url of a protobuf message, as internal.Unmarshal would.
func validSubject(s string) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err // unwrapped: this is the text Dex's internal.Unmarshal gives the client
	}
	for len(b) > 0 {
		_, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("proto: cannot parse invalid wire-format data")
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(0, typ, b)
		if m < 0 {
			return fmt.Errorf("proto: cannot parse invalid wire-format data")
		}
		b = b[m:]
	}
	return nil
}
