"""Apple Podcasts' categories and their subcategories, as Apple lists them for
`itunes:category` (a feed with a category not on this list is refused)."""

from __future__ import annotations

from difflib import get_close_matches

from narrator.errors import SettingsError

DEFAULT_CATEGORY = ("Arts", "Books")  # essays read aloud

APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": (
        "Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts",
    ),
    "Business": (
        "Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit",
    ),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies",
        "Home & Garden", "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News", "Daily News", "Entertainment News", "News Commentary", "Politics",
        "Sports News", "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion", "Spirituality",
    ),
    "Science": (
        "Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
        "Natural Sciences", "Nature", "Physics", "Social Sciences",
    ),
    "Society & Culture": (
        "Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships",
    ),
    "Sports": (
        "Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey",
        "Rugby", "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}  # fmt: skip


def check_category(category: str, subcategory: str | None) -> tuple[str, str | None]:
    """The category and subcategory as Apple spells them (case aside), or a SettingsError
    naming the closest ones Apple has."""
    by_fold = {name.casefold(): name for name in APPLE_CATEGORIES}
    found = by_fold.get(category.strip().casefold())
    if found is None:
        close = get_close_matches(category, APPLE_CATEGORIES, n=3, cutoff=0.5)
        raise SettingsError(
            f"{category!r} is not an Apple Podcasts category",
            f"use one of {', '.join(close or APPLE_CATEGORIES)}",
        )
    if subcategory is None:
        return found, None
    subs = {name.casefold(): name for name in APPLE_CATEGORIES[found]}
    sub = subs.get(subcategory.strip().casefold())
    if sub is None:
        choices = ", ".join(APPLE_CATEGORIES[found]) or "none: leave subcategory out"
        raise SettingsError(
            f"{subcategory!r} is not a subcategory of {found} in Apple Podcasts",
            f"use one of {choices}",
        )
    return found, sub
