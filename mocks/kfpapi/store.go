package kfpapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// experiment is model.Experiment: Name is the display name, CreatedAt is whole seconds as in the database.
type experiment struct {
	ID, Name, Description, Namespace string
	CreatedAt                        int64
}

// run is the part of model.Run the stand-in keeps.
type run struct {
	ID, Name, Namespace, ExperimentID, State string
	CreatedAt                                int64
	Archived                                 bool
	PipelineID, PipelineVersionID            string
	// ServiceAccount is the run's caller-chosen serviceAccountName ("" for the namespace's default).
	ServiceAccount string
}

// newUUID returns a random (version 4) UUID, as the server's uuid.NewRandom.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// insertExperiment stores e unless its name is taken in its namespace (the table's unique index).
func (s *Server) insertExperiment(e *experiment) *userError {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.experiments {
		if o.Name == e.Name && o.Namespace == e.Namespace {
			return newAlreadyExistError("Failed to create a new experiment. The name %v already exists. Please specify a new name", e.Name)
		}
	}
	s.experiments[e.ID] = e
	return nil
}

// lookup returns a copy of the stored object with the given id, under the server's lock.
func lookup[T any](s *Server, m map[string]*T, id string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := m[id]
	if !ok {
		var zero T
		return zero, false
	}
	return *v, true
}

// where returns copies of the stored objects keep accepts, under the server's lock.
func where[T any](s *Server, m map[string]*T, keep func(T) bool) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []T
	for _, v := range m {
		if keep(*v) {
			out = append(out, *v)
		}
	}
	return out
}

func (s *Server) experimentByID(id string) (experiment, bool) { return lookup(s, s.experiments, id) }

func (s *Server) experimentsIn(namespace string) []experiment {
	return where(s, s.experiments, func(e experiment) bool { return e.Namespace == namespace })
}

func (s *Server) runsWhere(keep func(run) bool) []run { return where(s, s.runs, keep) }

// AddRun seeds a run without a request (in any state, for tests) and returns its id. A non-empty experimentID
// must name a stored experiment; the run's namespace is then the experiment's. In single-user mode the
// namespace is dropped, as the server's ReplaceNamespace does.
func (s *Server) AddRun(namespace, experimentID, displayName, state string) (string, error) {
	if experimentID != "" {
		e, ok := s.experimentByID(experimentID)
		if !ok {
			return "", fmt.Errorf("kfpapi: AddRun: experiment %q not found", experimentID)
		}
		namespace = e.Namespace
	}
	if !s.cfg.MultiUser {
		namespace = ""
	}
	r := &run{ID: newUUID(), Name: displayName, Namespace: namespace, ExperimentID: experimentID, State: state, CreatedAt: s.cfg.Now().Unix()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = r
	return r.ID, nil
}

// List paging as backend/src/apiserver/list: sorted by the key field (the UUID) when sort_by is empty, 20 per
// page by default, at most 200, and a next_page_token that is base64 JSON naming the next key.
const (
	defaultPageSize = 20
	maxPageSize     = 200
)

type pageToken struct {
	SortByFieldName  string
	SortByFieldValue any
	KeyFieldName     string
	KeyFieldValue    any
	IsDesc           bool
	ModelName        string
}

// listOptions is the paging part of validatedListOptions.
type listOptions struct {
	pageSize int
	startKey string
}

func parseListOptions(token string, pageSize int) (listOptions, *userError) {
	if pageSize < 0 {
		// The server formats the int with %q, which prints a quoted (invalid) rune.
		return listOptions{}, newInvalidInputError("The page size should be greater than 0. Got %s", strconv.QuoteRune(rune(pageSize)))
	}
	if pageSize == 0 {
		pageSize = defaultPageSize
	}
	pageSize = min(pageSize, maxPageSize)
	opts := listOptions{pageSize: pageSize}
	if token == "" {
		return opts, nil
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return opts, newInvalidInputErrorWithDetails(err.Error(), "Invalid package token")
	}
	var t pageToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return opts, newInvalidInputErrorWithDetails(err.Error(), "Invalid package token")
	}
	key, _ := t.KeyFieldValue.(string)
	opts.startKey = key
	return opts, nil
}

// page returns the page of items starting at opts.startKey, in key order, and the token for the next page;
// model is the table the token names.
func page[T any](items []T, key func(T) string, opts listOptions, model string) ([]T, string) {
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := sort.Search(len(items), func(i int) bool { return key(items[i]) >= opts.startKey })
	items = items[start:]
	if len(items) <= opts.pageSize {
		return items, ""
	}
	next := key(items[opts.pageSize])
	t := pageToken{SortByFieldName: "UUID", SortByFieldValue: next, KeyFieldName: "UUID", KeyFieldValue: next, ModelName: model}
	raw, _ := json.Marshal(t)
	return items[:opts.pageSize], base64.StdEncoding.EncodeToString(raw)
}

// formatTime is a protobuf Timestamp of whole seconds in JSON.
func formatTime(sec int64) string {
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}
