-- The scheduler finds the next scheduled post, and publishes the due ones,
-- through this index instead of scanning posts.
CREATE INDEX posts_status_published_at ON posts(status, published_at);
-- Tag and author archives and the sitemaps list a user's or tag's posts
-- from the join tables' (x_id, post_id) indexes; the reverse lookups for a
-- post's own relations need the post_id side too.
CREATE INDEX posts_tags_post_id ON posts_tags(post_id, sort_order);
CREATE INDEX posts_authors_post_id ON posts_authors(post_id, sort_order);
