package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

type userRequest struct {
	Name     string   `json:"name"`
	Password *string  `json:"password"`
	Roles    []string `json:"roles"`
	Disabled *bool    `json:"disabled"`
	TOTP     string   `json:"totp"` // enable or disable
	Unlock   bool     `json:"unlock"`
}

func join(s []string) string { return strings.Join(s, ",") }

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"users": h.opts.Auth.Users()})
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	var req userRequest
	if err := decodeJSON(w, r, "user request", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	if req.Password == nil {
		h.writeError(w, r, invalidf("password: required"), nil)
		return
	}
	u, err := h.opts.Auth.CreateUser(req.Name, *req.Password, req.Roles)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "user_create", u.Name, "success", map[string]string{"roles": join(u.Roles)})
	writeJSON(w, http.StatusCreated, u)
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) {
	var req userRequest
	if err := decodeJSON(w, r, "user request", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	name := r.PathValue("name")
	u, secret, err := h.opts.Auth.UpdateUser(name, auth.UserUpdate{Password: req.Password, Roles: req.Roles, Disabled: req.Disabled, TOTP: req.TOTP, Unlock: req.Unlock})
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	d := map[string]string{}
	if req.Password != nil {
		d["password"] = "changed"
	}
	if req.Roles != nil {
		d["roles"] = join(req.Roles)
	}
	if req.Disabled != nil {
		d["disabled"] = strconv.FormatBool(*req.Disabled)
	}
	if req.TOTP != "" {
		d["totp"] = req.TOTP
	}
	h.auditf(r, p, "user_update", name, "success", d)
	ans := map[string]any{"user": u}
	if secret != "" {
		ans["totp_secret"] = secret
		ans["totp_uri"] = "otpauth://totp/Mamori:" + name + "?secret=" + secret + "&issuer=Mamori"
	}
	writeJSON(w, http.StatusOK, ans)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := h.opts.Auth.DeleteUser(name); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "user_delete", name, "success", nil)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": name})
}

func (h *Handler) listRoles(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"roles": h.opts.Auth.Roles()})
}

func (h *Handler) putRole(w http.ResponseWriter, r *http.Request) {
	var role auth.Role
	if err := decodeJSON(w, r, "role", &role); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	if role.Name == "" {
		role.Name = r.PathValue("name")
	}
	if role.Name != r.PathValue("name") {
		h.writeError(w, r, invalidf("role name %q differs from the URL's %q", role.Name, r.PathValue("name")), nil)
		return
	}
	if role.Filter != "" {
		if _, err := parseScopeFilter(role.Filter); err != nil {
			h.writeError(w, r, invalidf("filter: %v", err), nil)
			return
		}
	}
	if err := h.opts.Auth.PutRole(role); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "role_put", role.Name, "success", map[string]string{"capabilities": capsString(role.Capabilities), "partitions": join(role.Partitions), "filter": role.Filter})
	writeJSON(w, http.StatusOK, role)
}

func capsString(cs []auth.Capability) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return join(s)
}

func (h *Handler) deleteRole(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := h.opts.Auth.DeleteRole(name); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "role_delete", name, "success", nil)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": name})
}

func (h *Handler) verifyAudit(w http.ResponseWriter, r *http.Request) {
	if h.opts.Audit == nil {
		h.writeError(w, r, invalidf("auditing is off on this node"), nil)
		return
	}
	seq, head := h.opts.Audit.Head()
	rep, err := auth.VerifyAudit(h.opts.AuditPath, nil)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"report": rep, "head_seq": seq, "head": head})
}

// parseDays parses Go durations plus a day suffix ("30d").
func parseDays(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
