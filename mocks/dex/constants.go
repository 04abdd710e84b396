package dex

// Protocol constants, spelled as in server/oauth2.go.
const (
	codeChallengeMethodPlain = "plain"
	codeChallengeMethodS256  = "S256"

	errInvalidRequest          = "invalid_request"
	errAccessDenied            = "access_denied"
	errUnsupportedResponseType = "unsupported_response_type"
	errRequestNotSupported     = "request_not_supported"
	errInvalidScope            = "invalid_scope"
	errServerError             = "server_error"
	errUnsupportedGrantType    = "unsupported_grant_type"
	errInvalidGrant            = "invalid_grant"
	errInvalidClient           = "invalid_client"

	scopeOfflineAccess = "offline_access"
	scopeOpenID        = "openid"
	scopeGroups        = "groups"
	scopeEmail         = "email"
	scopeProfile       = "profile"
	scopeFederatedID   = "federated:id"

	deviceCallbackURI = "/device/callback"
	redirectURIOOB    = "urn:ietf:wg:oauth:2.0:oob"

	grantTypeAuthorizationCode = "authorization_code"
	grantTypeRefreshToken      = "refresh_token"
	grantTypeImplicit          = "implicit"
	grantTypePassword          = "password"
	grantTypeDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantTypeTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"

	tokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeID     = "urn:ietf:params:oauth:token-type:id_token"

	responseTypeCode             = "code"
	responseTypeToken            = "token"
	responseTypeIDToken          = "id_token"
	responseTypeCodeToken        = "code token"
	responseTypeCodeIDToken      = "code id_token"
	responseTypeIDTokenToken     = "id_token token"
	responseTypeCodeIDTokenToken = "code id_token token"
)

func parseScopes(scopes []string) Scopes {
	var s Scopes
	for _, scope := range scopes {
		switch scope {
		case scopeOfflineAccess:
			s.OfflineAccess = true
		case scopeGroups:
			s.Groups = true
		}
	}
	return s
}

func contains(list []string, item string) bool {
	for _, v := range list {
		if v == item {
			return true
		}
	}
	return false
}
