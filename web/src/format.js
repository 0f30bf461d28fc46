// How numbers, times and signals read on the page.

const NUMBER = new Intl.NumberFormat('en')

export function count(value) {
  return value === null || value === undefined ? '—' : NUMBER.format(value)
}

export function score(value, digits = 2) {
  return value === null || value === undefined ? '—' : Number(value).toFixed(digits)
}

export function percent(value) {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(value < 0.1 ? 2 : 1)} %`
}

// Times arrive as ISO strings or epoch numbers (seconds or milliseconds).
function toDate(value) {
  if (value === null || value === undefined || value === '') return null
  const date = typeof value === 'number' ? new Date(value < 1e11 ? value * 1000 : value) : new Date(value)
  return Number.isNaN(date.getTime()) ? null : date
}

const RELATIVE = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
const STEPS = [['second', 60], ['minute', 60], ['hour', 24], ['day', 7], ['week', 4.35], ['month', 12], ['year', Infinity]]

export function ago(value, now = Date.now()) {
  const date = toDate(value)
  if (!date) return '—'
  let amount = (date.getTime() - now) / 1000
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return RELATIVE.format(Math.round(amount), unit)
    amount /= size
  }
  return date.toLocaleString()
}

export function isoTime(value) {
  return toDate(value)?.toISOString()
}

export function dateTime(value) {
  const date = toDate(value)
  return date ? date.toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' }) : '—'
}

export const SIGNALS = {
  cowatch: { label: 'watched together', colour: '#4f46e5' },
  content: { label: 'similar story', colour: '#d97706' },
}

export function signalLabel(signal) {
  return SIGNALS[signal]?.label ?? signal
}

export const RATING_CHOICES = [
  ...Array.from({ length: 10 }, (_, i) => ({ value: 10 - i, label: `${10 - i} / 10` })),
  { value: -1, label: 'watched (no score)' },
]

export function ratingLabel(value) {
  return RATING_CHOICES.find((choice) => choice.value === value)?.label ?? String(value)
}
