package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
)

// maxPage is the largest page of the list routes of /v1/me and /v1/titles.
const maxPage = 100

// limitOffset reads the limit and offset query parameters of a list route.
func limitOffset(c *gin.Context, def int) (limit, offset int, err error) {
	var fe fieldErrors
	limit = def
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			fe.add("limit", "must be an integer from 1 to %d, got %q", maxPage, v)
		}
		limit = n
	}
	if v, ok := c.GetQuery("offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			fe.add("offset", "must be an integer from 0 to 1000000, got %q", v)
		}
		offset = n
	}
	return limit, offset, fe.err()
}

// currentUser loads the caller's account. A caller whose account is gone
// has no session left, so a missing account is a 401 like a revoked token.
func (s *Server) currentUser(c *gin.Context) (data.User, error) {
	u, err := s.store.User(c.Request.Context(), caller(c).userID)
	return u, accountGone(err)
}

// accountGone turns the not-found of a read or write of the caller's
// account, which a concurrent request may have deleted, into a 401.
func accountGone(err error) error {
	if errors.Is(err, data.ErrNotFound) {
		return withCause(unauthorized("the account of this access token no longer exists"), err)
	}
	return err
}

func (s *Server) profile(c *gin.Context) {
	u, err := s.currentUser(c)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, userOut(u))
}

// profilePatch holds the fields a user may change; absent fields stay.
type profilePatch struct {
	Name            *string   `json:"name"`
	Email           *string   `json:"email"`
	PreferredGenres *[]string `json:"preferred_genres"`
	PreferredTypes  *[]string `json:"preferred_types"`
}

// updateProfile changes the fields the body names.
//
// NOTE: the update reads the account and writes it whole, so two
// concurrent updates of different fields of one account may lose one of
// them. The port has no conditional update to prevent it.
func (s *Server) updateProfile(c *gin.Context) {
	var req profilePatch
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	if req == (profilePatch{}) {
		writeError(c, invalid("body", "names no field to change; send at least one of "+knownFields(&req)))
		return
	}
	var fe fieldErrors
	if req.Name != nil {
		fe.checkText("name", *req.Name, maxNameRunes)
	}
	if req.Email != nil {
		*req.Email = normalizeEmail(*req.Email)
		fe.checkEmail("email", *req.Email)
	}
	if req.PreferredGenres != nil {
		fe.checkList("preferred_genres", *req.PreferredGenres)
	}
	if req.PreferredTypes != nil {
		fe.checkList("preferred_types", *req.PreferredTypes)
		for i, t := range *req.PreferredTypes {
			if !validTitleType.MatchString(t) {
				fe.add(fmt.Sprintf("preferred_types[%d]", i), "must be a type in lower case, such as movie or series")
			}
		}
	}
	if err := fe.err(); err != nil {
		writeError(c, err)
		return
	}

	u, err := s.currentUser(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if req.Name != nil {
		u.Name = *req.Name
	}
	if req.Email != nil {
		u.Email = *req.Email
	}
	if req.PreferredGenres != nil {
		u.PreferredGenres = *req.PreferredGenres
	}
	if req.PreferredTypes != nil {
		u.PreferredTypes = *req.PreferredTypes
	}
	u.UpdatedAt = data.Normalize(s.now())
	if err := s.store.UpdateUser(c.Request.Context(), u); err != nil {
		if errors.Is(err, data.ErrConflict) {
			err = conflict("email", "another account has this e-mail; send another address")
		}
		writeError(c, accountGone(err))
		return
	}
	c.JSON(http.StatusOK, userOut(u))
}

type deleteAccountRequest struct {
	Password string `json:"password"`
}

// deleteAccount deletes the caller's account after checking the password
// again. Every session is revoked first, so no request of the account can
// write after its events are gone. With an Eraser the account's ratings,
// rating history and watch events are removed; without one its ratings are
// retracted, which takes them out of averages and recommendations, and its
// watch events stay in the log under the account's random ID, which then
// links to no e-mail or name.
func (s *Server) deleteAccount(c *gin.Context) {
	var req deleteAccountRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	if req.Password == "" {
		writeError(c, invalid("password", "is required; send the account's password to confirm the deletion"))
		return
	}
	u, err := s.currentUser(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.checkPassword(c, u, "password", req.Password); err != nil {
		writeError(c, err)
		return
	}

	ctx := c.Request.Context()
	if err := s.sessions.RevokeUserSessions(ctx, u.ID, s.now()); err != nil {
		writeError(c, err)
		return
	}
	if err := s.eraseEvents(c, u.ID); err != nil {
		writeError(c, err)
		return
	}
	if err := s.store.DeleteUser(ctx, u.ID); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// eraseEvents removes or retracts a deleted account's events, as
// deleteAccount describes.
func (s *Server) eraseEvents(c *gin.Context, userID string) error {
	ctx := c.Request.Context()
	if s.cfg.Eraser != nil {
		return s.cfg.Eraser.EraseUserEvents(ctx, userID)
	}
	ratings, err := s.store.Ratings(ctx, userID)
	if err != nil {
		return err
	}
	for _, r := range ratings {
		err := s.store.DeleteRating(ctx, userID, r.ContentID, s.after(r.Time))
		if err != nil && !errors.Is(err, data.ErrNotFound) {
			return err
		}
	}
	return nil
}

// history returns the caller's watch events, newest first, each with the
// title and the caller's current rating of it.
func (s *Server) history(c *gin.Context) {
	limit, offset, err := limitOffset(c, 20)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx, userID := c.Request.Context(), caller(c).userID
	watches, err := s.store.Watches(ctx, userID, offset+limit+1)
	if err != nil {
		writeError(c, err)
		return
	}
	ratings, err := s.store.Ratings(ctx, userID)
	if err != nil {
		writeError(c, err)
		return
	}

	total := len(watches)
	page := watches[min(offset, total):min(offset+limit, total)]
	ids := make([]string, len(page))
	for i, w := range page {
		ids[i] = w.ContentID
	}
	titles, err := s.titlesByID(c, ids)
	if err != nil {
		writeError(c, err)
		return
	}
	rated := make(map[string]float64, len(ratings))
	for _, r := range ratings {
		rated[r.ContentID] = r.Value
	}

	out := historyPageJSON{Items: make([]historyItemJSON, len(page)), Limit: limit, Offset: offset, NextOffset: nextOffset(offset, limit, total)}
	for i, w := range page {
		item := historyItemJSON{watchJSON: watchOut(w), Fraction: w.Fraction(), Title: titleRef(titles, w.ContentID)}
		if v, ok := rated[w.ContentID]; ok {
			item.Rating = &v
		}
		out.Items[i] = item
	}
	c.JSON(http.StatusOK, out)
}

// titlesByID returns the catalog's titles among ids, keyed by ID.
func (s *Server) titlesByID(c *gin.Context, ids []string) (map[string]data.Title, error) {
	titles, err := s.store.Titles(c.Request.Context(), ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]data.Title, len(titles))
	for _, t := range titles {
		byID[t.ID] = t
	}
	return byID, nil
}
