import {
  ChangeDetectionStrategy,
  Component,
  computed,
  type ElementRef,
  inject,
  signal,
  viewChild,
} from '@angular/core'
import { compact, fmt, pct, signed } from './format'
import { Market } from './market'
import type { RankEntry } from './model'

// Markets: 24 h gainers / losers, sortable by any column, paginated, filtered; a click (or Enter
// on the highlighted row) opens that symbol. `/` focuses the search, arrow keys move the highlight.

type Column = 'symbol' | 'lastPrice' | 'priceChangePercent' | 'priceChange' | 'volume' | 'quoteVolume'
const PAGE = 10

@Component({
  selector: 'cs-ranking',
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: { '(document:keydown)': 'onKey($event)' },
  template: `
    <div class="top">
      <div class="tabs" role="tablist">
        <button type="button" role="tab" [class.on]="type() === 'gainers'" (click)="setType('gainers')" data-testid="tab-gainers">Gainers</button>
        <button type="button" role="tab" [class.on]="type() === 'losers'" (click)="setType('losers')" data-testid="tab-losers">Losers</button>
      </div>
      <input #search type="search" placeholder="Search  /" [value]="filter()" (input)="setFilter($any($event.target).value)"
        aria-label="search markets" data-testid="market-search" />
    </div>
    @if (rows().length > 0) {
      <table data-testid="ranking">
        <thead>
          <tr>
            @for (c of columns; track c.key) {
              <th [class.num]="c.key !== 'symbol'" [class.wide]="c.wide" (click)="sortBy(c.key)" [attr.data-col]="c.key"
                [attr.aria-sort]="sort().col === c.key ? (sort().dir > 0 ? 'ascending' : 'descending') : null">
                {{ c.label }}{{ sort().col === c.key ? (sort().dir > 0 ? ' ▲' : ' ▼') : '' }}
              </th>
            }
          </tr>
        </thead>
        <tbody>
          @for (e of pageRows(); track e.symbol; let i = $index) {
            <tr (click)="open(e.symbol)" [class.sel]="e.symbol === market.route().symbol" [class.hi]="i === cursor()"
              [attr.data-symbol]="e.symbol" [attr.data-change]="e.priceChangePercent" [class.stale]="e.stale">
              <td class="sym">{{ e.symbol }}</td>
              <td class="num">{{ fmt(e.lastPrice, market.priceDecimals(e.symbol)) }}</td>
              <td class="num" [class.up]="+e.priceChangePercent > 0" [class.down]="+e.priceChangePercent < 0">{{ pct(e.priceChangePercent) }}</td>
              <td class="num wide" [class.up]="+e.priceChange > 0" [class.down]="+e.priceChange < 0">{{ signed(e.priceChange, market.priceDecimals(e.symbol)) }}</td>
              <td class="num wide">{{ compact(e.volume) }}</td>
              <td class="num">{{ compact(e.quoteVolume) }}</td>
            </tr>
          }
        </tbody>
      </table>
      <div class="pager">
        <button type="button" (click)="page.set(page() - 1)" [disabled]="page() === 0" aria-label="previous page">‹</button>
        <span class="muted" data-testid="page">{{ page() + 1 }} / {{ pages() }}</span>
        <button type="button" (click)="page.set(page() + 1)" [disabled]="page() + 1 >= pages()" aria-label="next page">›</button>
        <span class="muted small">{{ rows().length }} markets · 24 h</span>
      </div>
    } @else {
      <div class="empty muted" data-testid="ranking-empty">
        @if (market.ranking() === null) { waiting for the first 24 h ranking… } @else { no market matches "{{ filter() }}" }
      </div>
    }
  `,
  styles: `
    :host { display: flex; flex-direction: column; min-height: 0; font-size: 12px; }
    .top { display: flex; gap: 6px; padding: 6px 8px; align-items: center; flex-wrap: wrap; }
    .tabs { display: flex; gap: 2px; }
    input { flex: 1; min-width: 80px; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 3px; padding: 3px 6px; font: inherit; }
    input:focus { outline: 1px solid var(--accent); }
    table { width: 100%; border-collapse: collapse; font-family: var(--mono); }
    th { color: var(--muted); font-weight: normal; font-size: 11px; cursor: pointer; user-select: none; padding: 3px 4px; text-align: left; white-space: nowrap; }
    td { padding: 3px 4px; white-space: nowrap; }
    .num { text-align: right; }
    tbody tr { cursor: pointer; }
    tbody tr:hover, tr.hi { background: var(--hover); }
    tr.sel td.sym { color: var(--accent); }
    tr.stale { opacity: 0.6; }
    .pager { display: flex; align-items: center; gap: 8px; padding: 6px 8px; }
    .small { margin-left: auto; font-size: 11px; }
    .empty { padding: 24px 8px; text-align: center; }
    :host { container-type: inline-size; }
    @container (max-width: 380px) { .wide { display: none; } }
  `,
})
export class RankingTable {
  readonly market = inject(Market)
  readonly fmt = fmt
  readonly pct = pct
  readonly signed = signed
  readonly compact = compact
  readonly columns: { key: Column; label: string; wide?: boolean }[] = [
    { key: 'symbol', label: 'Symbol' },
    { key: 'lastPrice', label: 'Last' },
    { key: 'priceChangePercent', label: 'Chg %' },
    { key: 'priceChange', label: 'Chg', wide: true },
    { key: 'volume', label: 'Vol', wide: true },
    { key: 'quoteVolume', label: 'Quote vol' },
  ]
  readonly type = signal<'gainers' | 'losers'>('gainers')
  readonly filter = signal('')
  /** null: the ranking's own order (by change %, best or worst first). */
  readonly sort = signal<{ col: Column | null; dir: 1 | -1 }>({ col: null, dir: -1 })
  readonly page = signal(0)
  readonly cursor = signal(-1)
  private readonly search = viewChild<ElementRef<HTMLInputElement>>('search')

  readonly rows = computed<RankEntry[]>(() => {
    const r = this.market.ranking()
    if (!r) return []
    const list = this.type() === 'gainers' ? r.gainers : r.losers
    const f = this.filter().trim().toUpperCase()
    const shown = f ? list.filter((e) => e.symbol.includes(f)) : [...list]
    const { col, dir } = this.sort()
    if (col === 'symbol') shown.sort((a, b) => dir * a.symbol.localeCompare(b.symbol))
    else if (col)
      shown.sort((a, b) => dir * (Number(a[col]) - Number(b[col])) || a.symbol.localeCompare(b.symbol))
    return shown
  })
  readonly pages = computed(() => Math.max(1, Math.ceil(this.rows().length / PAGE)))
  readonly pageRows = computed(() => {
    const p = Math.min(this.page(), this.pages() - 1)
    return this.rows().slice(p * PAGE, p * PAGE + PAGE)
  })

  setType(t: 'gainers' | 'losers'): void {
    this.type.set(t)
    this.sort.set({ col: null, dir: -1 })
    this.page.set(0)
  }

  setFilter(v: string): void {
    this.filter.set(v)
    this.page.set(0)
    this.cursor.set(-1)
  }

  sortBy(col: Column): void {
    const s = this.sort()
    // first click: largest first (A→Z for symbols); second click flips
    const dir = s.col === col ? (s.dir === 1 ? -1 : 1) : col === 'symbol' ? 1 : -1
    this.sort.set({ col, dir })
    this.page.set(0)
  }

  open(symbol: string): void {
    this.market.go(symbol)
  }

  onKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement | null
    const typing = target?.tagName === 'INPUT'
    if (e.key === '/' && !typing) {
      e.preventDefault()
      this.search()?.nativeElement.focus()
      return
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const n = this.pageRows().length
      if (n === 0) return
      e.preventDefault()
      const c = this.cursor() + (e.key === 'ArrowDown' ? 1 : -1)
      this.cursor.set(Math.max(0, Math.min(n - 1, c)))
    } else if (e.key === 'Enter' && this.cursor() >= 0) {
      const row = this.pageRows()[this.cursor()]
      if (row) this.open(row.symbol)
    }
  }
}
