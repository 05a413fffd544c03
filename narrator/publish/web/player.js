// The listening page's player: chapter buttons jump, the transcript follows the voice,
// and the position is kept in localStorage. Times come from the page's data- attributes;
// no text is ever inserted here, so nothing from an essay can become markup.
"use strict";

(() => {
  const audio = document.querySelector("audio[data-episode]");
  if (!audio) {
    return; // the index page
  }
  const key = "narrator:position:" + audio.dataset.episode;
  const cues = Array.from(document.querySelectorAll(".cue"));
  const chapters = Array.from(document.querySelectorAll("button.chapter"));
  const cueStarts = cues.map((cue) => Number(cue.dataset.start));
  const chapterStarts = chapters.map((button) => Number(button.dataset.start));
  const calm = window.matchMedia("(prefers-reduced-motion: reduce)");
  let currentCue = null;
  let currentChapter = null;
  let restored = false; // until the saved position is applied, a 0 must not overwrite it

  // The index of the last start at or before `time`, or -1.
  function lastStartedAt(starts, time) {
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (starts[middle] <= time) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low - 1;
  }

  function mark(element, previous) {
    if (element === previous) {
      return false;
    }
    if (previous) {
      previous.classList.remove("current");
      previous.removeAttribute("aria-current");
    }
    if (element) {
      element.classList.add("current");
      element.setAttribute("aria-current", "true");
    }
    return true;
  }

  // Highlight the cue being spoken (the last one started: it stays lit through the
  // pause after it) and its chapter, and keep the cue in view.
  function follow() {
    const time = audio.currentTime;
    const cue = cues[lastStartedAt(cueStarts, time)] || null;
    if (mark(cue, currentCue) && cue) {
      cue.scrollIntoView({ block: "center", behavior: calm.matches ? "auto" : "smooth" });
    }
    currentCue = cue;
    const chapter = chapters[lastStartedAt(chapterStarts, time)] || null;
    mark(chapter, currentChapter);
    currentChapter = chapter;
  }

  function save() {
    if (!restored) {
      return;
    }
    try {
      if (audio.ended) {
        localStorage.removeItem(key);
      } else {
        localStorage.setItem(key, String(audio.currentTime));
      }
    } catch (error) {
      // storage off or full: the page still plays, it just won't remember
    }
  }

  function restore() {
    let saved = 0;
    try {
      saved = Number(localStorage.getItem(key)) || 0;
    } catch (error) {
      saved = 0;
    }
    if (saved > 0 && audio.currentTime === 0) {
      audio.currentTime = saved;
    }
    restored = true;
    follow();
  }

  function seek(time) {
    const end = Number.isFinite(audio.duration) ? audio.duration : Infinity;
    audio.currentTime = Math.min(Math.max(time, 0), end);
    follow();
    save();
  }

  for (const button of chapters) {
    button.addEventListener("click", () => seek(Number(button.dataset.start)));
  }
  for (const button of document.querySelectorAll("button[data-skip]")) {
    button.addEventListener("click", () => seek(audio.currentTime + Number(button.dataset.skip)));
  }
  const speed = document.querySelector("select.speed");
  if (speed) {
    speed.addEventListener("change", () => {
      audio.playbackRate = Number(speed.value);
    });
  }

  let lastSaved = 0;
  audio.addEventListener("timeupdate", () => {
    follow();
    if (Math.abs(audio.currentTime - lastSaved) >= 1) {
      lastSaved = audio.currentTime;
      save();
    }
  });
  for (const event of ["seeked", "pause", "ended"]) {
    audio.addEventListener(event, () => {
      follow();
      save();
    });
  }
  window.addEventListener("pagehide", save);

  // Setting currentTime before the metadata is in can be lost: restore once it is.
  if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) {
    restore();
  } else {
    audio.addEventListener("loadedmetadata", restore, { once: true });
  }
})();
