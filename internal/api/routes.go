package api

import (
	"net/http"

	"github.com/mamori/mamori/internal/auth"
)

// route is one API endpoint and the capability it needs ("" for public
// endpoints that authenticate by other means, such as login).
type route struct {
	pattern string
	cap     auth.Capability
	fn      http.HandlerFunc
}

// capAuthenticated marks routes open to any authenticated principal.
const capAuthenticated auth.Capability = "authenticated"

// routes is the one table of API endpoints; the authorization matrix test
// reads it, so every route has an explicit capability.
func (h *Handler) routes() []route {
	routes := []route{
		{"GET /metrics", auth.CapSearch, h.metrics},
		{"POST /api/v1/ingest", auth.CapIngest, h.ingest},
		{"POST /api/v1/search", auth.CapSearch, h.search},
		{"GET /api/v1/tail", auth.CapSearch, h.tail},
		{"POST /api/v1/histogram", auth.CapSearch, h.histogram},
		{"POST /api/v1/login", "", h.login},
		{"POST /api/v1/logout", capAuthenticated, h.logout},
		{"GET /api/v1/me", capAuthenticated, h.me},
		{"POST /api/v1/tokens", auth.CapUsers, h.createToken},
		{"GET /api/v1/tokens", auth.CapUsers, h.listTokens},
		{"DELETE /api/v1/tokens/{id}", auth.CapUsers, h.revokeToken},
		{"GET /api/v1/users", auth.CapUsers, h.listUsers},
		{"POST /api/v1/users", auth.CapUsers, h.createUser},
		{"PATCH /api/v1/users/{name}", auth.CapUsers, h.updateUser},
		{"DELETE /api/v1/users/{name}", auth.CapUsers, h.deleteUser},
		{"GET /api/v1/roles", auth.CapUsers, h.listRoles},
		{"PUT /api/v1/roles/{name}", auth.CapUsers, h.putRole},
		{"DELETE /api/v1/roles/{name}", auth.CapUsers, h.deleteRole},
		{"GET /api/v1/audit/verify", auth.CapAudit, h.verifyAudit},
		{"GET /api/v1/rules", auth.CapSearch, h.listRules},
		{"POST /api/v1/rules", auth.CapRules, h.uploadRule},
		{"POST /api/v1/rules/test", auth.CapRules, h.testRule},
		{"PATCH /api/v1/rules/{id}", auth.CapRules, h.patchRule},
		{"DELETE /api/v1/rules/{id}", auth.CapRules, h.deleteRule},
		{"POST /api/v1/rules/{id}/hunt", auth.CapRules, h.huntRule},
		{"GET /api/v1/signals", auth.CapSearch, h.listSignals},
		{"GET /api/v1/incidents", auth.CapSearch, h.listIncidents},
		{"GET /api/v1/incidents/{id}", auth.CapSearch, h.getIncident},
		{"PATCH /api/v1/incidents/{id}", auth.CapTriage, h.patchIncident},
		{"GET /api/v1/lookups", auth.CapSearch, h.listLookups},
		{"GET /api/v1/logreduce/corrections", auth.CapSearch, h.getCorrections},
		{"PUT /api/v1/logreduce/corrections", auth.CapRules, h.putCorrections},
		{"PUT /api/v1/lookups/{name}", auth.CapRules, h.putLookup},
		{"POST /api/v1/lookups/{name}", auth.CapRules, h.putLookup},
		{"DELETE /api/v1/lookups/{name}", auth.CapRules, h.deleteLookup},
		{"GET /api/v1/notifications", auth.CapTriage, h.listNotifications},
		{"GET /api/v1/channels", auth.CapTriage, h.listChannels},
		{"POST /api/v1/channels/{name}/test", auth.CapAdmin, h.testChannel},
	}
	routes = append(routes, h.oidcRoutes()...)
	routes = append(routes, h.savedRoutes()...)
	routes = append(routes, h.storageRoutes()...)
	routes = append(routes, h.setupRoutes()...)
	return append(routes, h.holdRoutes()...)
}
