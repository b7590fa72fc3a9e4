// Behaviour the server-rendered forms share, kept out of the HTML: the Content-Security-Policy allows no
// inline script. A control marked data-autosubmit submits its form when it changes (the job type filter).
for (const control of document.querySelectorAll('[data-autosubmit]')) {
  control.addEventListener('change', () => control.form.submit());
}
// An error page's "Back to the previous page" (shown only when there is one).
for (const button of document.querySelectorAll('[data-history-back]')) {
  if (history.length <= 1) button.hidden = true;
  button.addEventListener('click', () => history.back());
}
