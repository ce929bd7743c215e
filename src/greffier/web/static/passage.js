/* The passage page: bring the cited passage into view. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const mark = document.querySelector(".passage-page mark");
  if (mark) mark.scrollIntoView({ block: "center" });
});
