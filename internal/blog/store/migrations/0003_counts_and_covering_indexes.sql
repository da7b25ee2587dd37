-- Page views at 100,000 posts must not count or sort every published post.
--
-- Counts: the home page's pagination total, the tag and author archives'
-- totals and the sitemap index's entry counts are kept by triggers here,
-- so that reading one is a single-row lookup instead of a walk over every
-- matching post (0.3-1.5 s at 100,000 posts).
--
-- post_counts holds the number of posts of each (type, status).
CREATE TABLE post_counts (
    type   TEXT NOT NULL,
    status TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (type, status)
) WITHOUT ROWID;
INSERT INTO post_counts (type, status, n)
    SELECT type, status, count(*) FROM posts GROUP BY type, status;

CREATE TRIGGER post_counts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO post_counts (type, status, n) VALUES (NEW.type, NEW.status, 1)
        ON CONFLICT (type, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER post_counts_delete AFTER DELETE ON posts BEGIN
    UPDATE post_counts SET n = n - 1 WHERE type = OLD.type AND status = OLD.status;
END;
CREATE TRIGGER post_counts_update AFTER UPDATE OF type, status ON posts
WHEN OLD.type IS NOT NEW.type OR OLD.status IS NOT NEW.status BEGIN
    UPDATE post_counts SET n = n - 1 WHERE type = OLD.type AND status = OLD.status;
    INSERT INTO post_counts (type, status, n) VALUES (NEW.type, NEW.status, 1)
        ON CONFLICT (type, status) DO UPDATE SET n = n + 1;
END;

-- tag_post_counts and author_post_counts hold, per tag and per author, the
-- number of published posts (type 'post') the archive lists. A link counts
-- while both it and a published post exist: links come and go with their
-- own triggers, and a post that is published, unpublished or deleted moves
-- the counts of all its links. A post's links are counted down BEFORE the
-- post is deleted, while they can still be found; the cascade that then
-- deletes them finds no post and leaves the counts alone.
CREATE TABLE tag_post_counts (
    tag_id TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO tag_post_counts (tag_id, n)
    SELECT pt.tag_id, count(*) FROM posts_tags pt JOIN posts p ON p.id = pt.post_id
    WHERE p.type = 'post' AND p.status = 'published' GROUP BY pt.tag_id;

CREATE TABLE author_post_counts (
    author_id TEXT PRIMARY KEY,
    n         INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO author_post_counts (author_id, n)
    SELECT pa.author_id, count(*) FROM posts_authors pa JOIN posts p ON p.id = pa.post_id
    WHERE p.type = 'post' AND p.status = 'published' GROUP BY pa.author_id;

CREATE TRIGGER tag_post_counts_link AFTER INSERT ON posts_tags
WHEN EXISTS (SELECT 1 FROM posts WHERE id = NEW.post_id AND type = 'post' AND status = 'published') BEGIN
    INSERT INTO tag_post_counts (tag_id, n) VALUES (NEW.tag_id, 1)
        ON CONFLICT (tag_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tag_post_counts_unlink AFTER DELETE ON posts_tags
WHEN EXISTS (SELECT 1 FROM posts WHERE id = OLD.post_id AND type = 'post' AND status = 'published') BEGIN
    UPDATE tag_post_counts SET n = n - 1 WHERE tag_id = OLD.tag_id;
END;
CREATE TRIGGER tag_post_counts_relink AFTER UPDATE OF post_id, tag_id ON posts_tags BEGIN
    UPDATE tag_post_counts SET n = n - 1 WHERE tag_id = OLD.tag_id
        AND EXISTS (SELECT 1 FROM posts WHERE id = OLD.post_id AND type = 'post' AND status = 'published');
    INSERT INTO tag_post_counts (tag_id, n)
        SELECT NEW.tag_id, 1 FROM posts WHERE id = NEW.post_id AND type = 'post' AND status = 'published'
        ON CONFLICT (tag_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER author_post_counts_link AFTER INSERT ON posts_authors
WHEN EXISTS (SELECT 1 FROM posts WHERE id = NEW.post_id AND type = 'post' AND status = 'published') BEGIN
    INSERT INTO author_post_counts (author_id, n) VALUES (NEW.author_id, 1)
        ON CONFLICT (author_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER author_post_counts_unlink AFTER DELETE ON posts_authors
WHEN EXISTS (SELECT 1 FROM posts WHERE id = OLD.post_id AND type = 'post' AND status = 'published') BEGIN
    UPDATE author_post_counts SET n = n - 1 WHERE author_id = OLD.author_id;
END;
CREATE TRIGGER author_post_counts_relink AFTER UPDATE OF post_id, author_id ON posts_authors BEGIN
    UPDATE author_post_counts SET n = n - 1 WHERE author_id = OLD.author_id
        AND EXISTS (SELECT 1 FROM posts WHERE id = OLD.post_id AND type = 'post' AND status = 'published');
    INSERT INTO author_post_counts (author_id, n)
        SELECT NEW.author_id, 1 FROM posts WHERE id = NEW.post_id AND type = 'post' AND status = 'published'
        ON CONFLICT (author_id) DO UPDATE SET n = n + 1;
END;

-- A post entering or leaving "published post" moves its links' counts.
CREATE TRIGGER link_counts_publish AFTER UPDATE OF type, status ON posts
WHEN (OLD.type = 'post' AND OLD.status = 'published') IS NOT (NEW.type = 'post' AND NEW.status = 'published') BEGIN
    INSERT INTO tag_post_counts (tag_id, n)
        SELECT tag_id, 0 FROM posts_tags WHERE post_id = NEW.id AND true
        ON CONFLICT (tag_id) DO NOTHING;
    UPDATE tag_post_counts SET n = n + iif(NEW.status = 'published' AND NEW.type = 'post', 1, -1)
        WHERE tag_id IN (SELECT tag_id FROM posts_tags WHERE post_id = NEW.id);
    INSERT INTO author_post_counts (author_id, n)
        SELECT author_id, 0 FROM posts_authors WHERE post_id = NEW.id AND true
        ON CONFLICT (author_id) DO NOTHING;
    UPDATE author_post_counts SET n = n + iif(NEW.status = 'published' AND NEW.type = 'post', 1, -1)
        WHERE author_id IN (SELECT author_id FROM posts_authors WHERE post_id = NEW.id);
END;
CREATE TRIGGER link_counts_delete BEFORE DELETE ON posts
WHEN OLD.type = 'post' AND OLD.status = 'published' BEGIN
    UPDATE tag_post_counts SET n = n - 1
        WHERE tag_id IN (SELECT tag_id FROM posts_tags WHERE post_id = OLD.id);
    UPDATE author_post_counts SET n = n - 1
        WHERE author_id IN (SELECT author_id FROM posts_authors WHERE post_id = OLD.id);
END;

-- Archives of big tags and authors filter and sort their posts from this
-- index alone, without reading the posts' rows (which hold the html): the
-- page's ids first, then the rows of those ids only.
CREATE INDEX posts_id_type_status_published_at ON posts(id, type, status, published_at);

-- The sitemap index's latest change of posts and of pages: one step into
-- this index instead of reading every published row.
CREATE INDEX posts_type_status_modified ON posts(type, status, coalesce(updated_at, published_at));
