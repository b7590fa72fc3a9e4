// The REST client of every page: JSON in and out, the CSRF token from its cookie, errors as {code, message}.

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

// api('GET', '/api/jobs/') -> the parsed body; throws ApiError for any non-2xx answer or a network failure.
// A FormData body goes as multipart (the browser sets the boundary); anything else as JSON.
export async function api(method, url, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken();
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (error) {
    throw new ApiError(0, 'network_error', 'The server cannot be reached; check the connection and retry.');
  }
  return answered(response.status, response.statusText, await response.text());
}

// The parsed body of a 2xx answer; any other answer thrown as an ApiError.
function answered(status, statusText, text) {
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (status < 200 || status > 299) {
    if (status === 401 || status === 403 && data?.code === 'not_authenticated') {
      throw new ApiError(401, 'not_authenticated', 'Your session has ended: log in again.');
    }
    const code = data?.code || `http_${status}`;
    const message = data?.message || `The server answered ${status} ${statusText}.`;
    throw new ApiError(status, code, message, data?.fields);
  }
  return data;
}

// POST a FormData as multipart, as `post` does, through XMLHttpRequest: fetch reports no upload progress.
// onProgress(loaded, total) follows the bytes sent (total is 0 when the browser cannot tell).
export function upload(url, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
    request.setRequestHeader('Accept', 'application/json');
    request.setRequestHeader('X-CSRFToken', csrfToken());
    request.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0));
    request.addEventListener('load', () => {
      try {
        resolve(answered(request.status, request.statusText, request.responseText));
      } catch (error) {
        reject(error);
      }
    });
    const lost = () =>
      reject(new ApiError(0, 'network_error', 'The upload stopped: the server cannot be reached; check the connection and retry.'));
    request.addEventListener('error', lost);
    request.addEventListener('abort', lost);
    request.send(form);
  });
}

export const get = (url) => api('GET', url);
export const post = (url, body) => api('POST', url, body ?? {});
export const patch = (url, body) => api('PATCH', url, body);
export const del = (url) => api('DELETE', url);

// The websocket URL of a path on this site (ws: or wss: as the page).
export function wsUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

// The page's boot data (a json_script element written by the Django view).
export function boot() {
  const element = document.getElementById('boot');
  return element ? JSON.parse(element.textContent) : {};
}
