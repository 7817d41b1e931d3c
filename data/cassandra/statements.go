package cassandra

import "strings"

// Column lists shared by several statements, in the order rows are scanned.
const (
	userColumns  = "id, email, name, password_hash, role, preferred_genres, preferred_types, created_at, updated_at"
	titleColumns = "id, name, year, genres, type, duration_sec, description, created_at, updated_at"
	eventColumns = "event_time, user_id, content_id, type, event_id, rating, watch_kind, position_sec, duration_sec"
)

// statements holds the CQL text of every statement, qualified with the
// keyspace. The driver prepares each text once per connection and caches
// it, so the same strings are reused for every call.
type statements struct {
	selectUser, insertUserIfAbsent, updateUserIfPresent, upsertUser, deleteUser string

	selectEmail, claimEmail, takeOverEmail, releaseEmail string

	selectTitle, upsertTitle, upsertTitleInBucket, deleteTitle, deleteTitleInBucket, listBucket string

	selectRating, selectRatings, ratingStats, selectRatingEvents string
	upsertRatingByUser, upsertRatingByTitle, insertRatingEvent   string
	deleteRatingByUser, deleteRatingByTitle                      string
	insertWatch, insertWatchID, selectWatchIDs, selectWatches    string
	selectWatchesLimit, selectWatchID, selectWatch               string
	insertEvent, insertDay, selectDays, scanDay                  string
	scanTokens, selectSetting, insertSetting                     string

	// Erasure of a user's events.
	selectUserRatingEvents, deleteEvent, deleteWatchIDs      string
	deleteUserRatings, deleteRatingEvents, deleteUserWatches string
}

func newStatements(keyspace string) statements {
	r := strings.NewReplacer("{ks}", keyspace, "{user}", userColumns, "{title}", titleColumns, "{event}", eventColumns)
	return statements{
		selectUser:          r.Replace("SELECT {user} FROM {ks}.users WHERE id = ?"),
		insertUserIfAbsent:  r.Replace("INSERT INTO {ks}.users ({user}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"),
		updateUserIfPresent: r.Replace("UPDATE {ks}.users SET email = ?, name = ?, password_hash = ?, role = ?, preferred_genres = ?, preferred_types = ?, created_at = ?, updated_at = ? WHERE id = ? IF EXISTS"),
		upsertUser:          r.Replace("INSERT INTO {ks}.users ({user}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		deleteUser:          r.Replace("DELETE FROM {ks}.users WHERE id = ? IF EXISTS"),

		selectEmail:   r.Replace("SELECT user_id, claimed_at FROM {ks}.users_by_email WHERE email = ?"),
		claimEmail:    r.Replace("INSERT INTO {ks}.users_by_email (email, user_id, claimed_at) VALUES (?, ?, ?) IF NOT EXISTS"),
		takeOverEmail: r.Replace("UPDATE {ks}.users_by_email SET user_id = ?, claimed_at = ? WHERE email = ? IF user_id = ? AND claimed_at = ?"),
		releaseEmail:  r.Replace("DELETE FROM {ks}.users_by_email WHERE email = ? IF user_id = ?"),

		selectTitle:         r.Replace("SELECT {title} FROM {ks}.titles WHERE id = ?"),
		upsertTitle:         r.Replace("INSERT INTO {ks}.titles ({title}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"),
		upsertTitleInBucket: r.Replace("INSERT INTO {ks}.titles_by_bucket (bucket, {title}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"),
		deleteTitle:         r.Replace("DELETE FROM {ks}.titles USING TIMESTAMP ? WHERE id = ?"),
		deleteTitleInBucket: r.Replace("DELETE FROM {ks}.titles_by_bucket USING TIMESTAMP ? WHERE bucket = ? AND id = ?"),
		listBucket:          r.Replace("SELECT {title} FROM {ks}.titles_by_bucket WHERE bucket = ? AND id > ?"),

		selectRating:        r.Replace("SELECT rating, rated_at FROM {ks}.ratings_by_user WHERE user_id = ? AND content_id = ?"),
		selectRatings:       r.Replace("SELECT content_id, rating, rated_at FROM {ks}.ratings_by_user WHERE user_id = ?"),
		ratingStats:         r.Replace("SELECT count(rating), sum(rating) FROM {ks}.ratings_by_title WHERE content_id = ?"),
		selectRatingEvents:  r.Replace("SELECT event_time, content_id, type FROM {ks}.rating_events_by_user WHERE user_id = ? AND event_time IN ?"),
		upsertRatingByUser:  r.Replace("INSERT INTO {ks}.ratings_by_user (user_id, content_id, rating, rated_at) VALUES (?, ?, ?, ?) USING TIMESTAMP ?"),
		upsertRatingByTitle: r.Replace("INSERT INTO {ks}.ratings_by_title (content_id, user_id, rating) VALUES (?, ?, ?) USING TIMESTAMP ?"),
		insertRatingEvent:   r.Replace("INSERT INTO {ks}.rating_events_by_user (user_id, event_time, content_id, type, rating) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?"),
		deleteRatingByUser:  r.Replace("DELETE FROM {ks}.ratings_by_user USING TIMESTAMP ? WHERE user_id = ? AND content_id = ?"),
		deleteRatingByTitle: r.Replace("DELETE FROM {ks}.ratings_by_title USING TIMESTAMP ? WHERE content_id = ? AND user_id = ?"),

		insertWatch:        r.Replace("INSERT INTO {ks}.watches_by_user (user_id, event_time, event_id, content_id, kind, position_sec, duration_sec) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"),
		insertWatchID:      r.Replace("INSERT INTO {ks}.watch_ids (user_id, event_id, event_time) VALUES (?, ?, ?)"),
		selectWatchIDs:     r.Replace("SELECT event_id FROM {ks}.watch_ids WHERE user_id = ? AND event_id IN ?"),
		selectWatches:      r.Replace("SELECT event_time, event_id, content_id, kind, position_sec, duration_sec FROM {ks}.watches_by_user WHERE user_id = ?"),
		selectWatchesLimit: r.Replace("SELECT event_time, event_id, content_id, kind, position_sec, duration_sec FROM {ks}.watches_by_user WHERE user_id = ? LIMIT ?"),
		selectWatchID:      r.Replace("SELECT event_time FROM {ks}.watch_ids WHERE user_id = ? AND event_id = ?"),
		selectWatch:        r.Replace("SELECT event_time, event_id, content_id, kind, position_sec, duration_sec FROM {ks}.watches_by_user WHERE user_id = ? AND event_time = ? AND event_id = ?"),

		insertEvent: r.Replace("INSERT INTO {ks}.events_by_day (day, bucket, {event}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"),
		insertDay:   r.Replace("INSERT INTO {ks}.event_days (shard, day) VALUES (0, ?)"),
		selectDays:  r.Replace("SELECT day FROM {ks}.event_days WHERE shard = 0 AND day >= ? AND day <= ?"),
		scanDay:     r.Replace("SELECT {event} FROM {ks}.events_by_day WHERE day = ? AND bucket = ? AND event_time >= ? AND event_time < ?"),
		scanTokens:  r.Replace("SELECT {event} FROM {ks}.events_by_day WHERE token(day, bucket) > ? AND token(day, bucket) <= ?"),

		selectUserRatingEvents: r.Replace("SELECT event_time, content_id, type FROM {ks}.rating_events_by_user WHERE user_id = ?"),
		deleteEvent: r.Replace("DELETE FROM {ks}.events_by_day USING TIMESTAMP ? WHERE day = ? AND bucket = ? AND event_time = ? " +
			"AND user_id = ? AND content_id = ? AND type = ? AND event_id = ?"),
		deleteWatchIDs:     r.Replace("DELETE FROM {ks}.watch_ids WHERE user_id = ?"),
		deleteUserRatings:  r.Replace("DELETE FROM {ks}.ratings_by_user USING TIMESTAMP ? WHERE user_id = ?"),
		deleteRatingEvents: r.Replace("DELETE FROM {ks}.rating_events_by_user USING TIMESTAMP ? WHERE user_id = ?"),
		deleteUserWatches:  r.Replace("DELETE FROM {ks}.watches_by_user USING TIMESTAMP ? WHERE user_id = ?"),

		selectSetting: r.Replace("SELECT value FROM {ks}.settings WHERE name = ?"),
		insertSetting: r.Replace("INSERT INTO {ks}.settings (name, value) VALUES (?, ?) IF NOT EXISTS"),
	}
}
