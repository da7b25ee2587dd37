-- Tables shaped like Ghost's (posts, posts_meta, tags, users, roles, the
-- ordered join tables and settings), so that Ghost exports and the Content
-- API map onto them column for column. Times are UTC text
-- 'YYYY-MM-DD HH:MM:SS', as Ghost stores them in SQLite.

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    slug             TEXT NOT NULL UNIQUE,
    password         TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL UNIQUE,
    profile_image    TEXT,
    cover_image      TEXT,
    bio              TEXT,
    website          TEXT,
    location         TEXT,
    facebook         TEXT,
    twitter          TEXT,
    accessibility    TEXT,
    status           TEXT NOT NULL DEFAULT 'active',
    locale           TEXT,
    visibility       TEXT NOT NULL DEFAULT 'public',
    meta_title       TEXT,
    meta_description TEXT,
    tour             TEXT,
    last_seen        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT
);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT
);

CREATE TABLE roles_users (
    id      TEXT PRIMARY KEY,
    role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX roles_users_user_id ON roles_users(user_id);

CREATE TABLE posts (
    id                           TEXT PRIMARY KEY,
    uuid                         TEXT NOT NULL,
    title                        TEXT NOT NULL,
    slug                         TEXT NOT NULL,
    mobiledoc                    TEXT,
    lexical                      TEXT,
    -- Markdown source of posts written in Wisp (Ghost keeps it inside
    -- mobiledoc/lexical cards); html is always the rendered result.
    markdown                     TEXT,
    html                         TEXT,
    comment_id                   TEXT,
    plaintext                    TEXT,
    feature_image                TEXT,
    featured                     INTEGER NOT NULL DEFAULT 0,
    type                         TEXT NOT NULL DEFAULT 'post' CHECK (type IN ('post', 'page')),
    status                       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('published', 'draft', 'scheduled', 'sent')),
    locale                       TEXT,
    visibility                   TEXT NOT NULL DEFAULT 'public',
    email_recipient_filter       TEXT NOT NULL DEFAULT 'all',
    created_at                   TEXT NOT NULL,
    created_by                   TEXT,
    updated_at                   TEXT,
    updated_by                   TEXT,
    published_at                 TEXT,
    published_by                 TEXT,
    custom_excerpt               TEXT,
    codeinjection_head           TEXT,
    codeinjection_foot           TEXT,
    custom_template              TEXT,
    canonical_url                TEXT,
    newsletter_id                TEXT,
    show_title_and_feature_image INTEGER NOT NULL DEFAULT 1,
    UNIQUE (slug, type)
);
-- Home page and pagination: published posts newest first, no table scan.
CREATE INDEX posts_type_status_published_at ON posts(type, status, published_at DESC, id DESC);
CREATE INDEX posts_uuid ON posts(uuid);

CREATE TABLE posts_meta (
    id                    TEXT PRIMARY KEY,
    post_id               TEXT NOT NULL UNIQUE REFERENCES posts(id) ON DELETE CASCADE,
    og_image              TEXT,
    og_title              TEXT,
    og_description        TEXT,
    twitter_image         TEXT,
    twitter_title         TEXT,
    twitter_description   TEXT,
    meta_title            TEXT,
    meta_description      TEXT,
    email_subject         TEXT,
    frontmatter           TEXT,
    feature_image_alt     TEXT,
    feature_image_caption TEXT,
    email_only            INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tags (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    slug                TEXT NOT NULL UNIQUE,
    description         TEXT,
    feature_image       TEXT,
    parent_id           TEXT,
    visibility          TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'internal')),
    og_image            TEXT,
    og_title            TEXT,
    og_description      TEXT,
    twitter_image       TEXT,
    twitter_title       TEXT,
    twitter_description TEXT,
    meta_title          TEXT,
    meta_description    TEXT,
    codeinjection_head  TEXT,
    codeinjection_foot  TEXT,
    canonical_url       TEXT,
    accent_color        TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT
);

CREATE TABLE posts_tags (
    id         TEXT PRIMARY KEY,
    post_id    TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag_id     TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    UNIQUE (post_id, tag_id)
);
CREATE INDEX posts_tags_tag_id ON posts_tags(tag_id, post_id);

CREATE TABLE posts_authors (
    id         TEXT PRIMARY KEY,
    post_id    TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    author_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    UNIQUE (post_id, author_id)
);
CREATE INDEX posts_authors_author_id ON posts_authors(author_id, post_id);

CREATE TABLE settings (
    id         TEXT PRIMARY KEY,
    "group"    TEXT NOT NULL DEFAULT 'core',
    key        TEXT NOT NULL UNIQUE,
    value      TEXT,
    type       TEXT NOT NULL DEFAULT 'string',
    flags      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
