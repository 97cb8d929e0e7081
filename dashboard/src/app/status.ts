import { ChangeDetectionStrategy, Component, inject } from '@angular/core'
import { Api } from './api'
import { Market } from './market'

// Always visible: live / reconnecting (with the retry countdown) / replay speed.
@Component({
  selector: 'cs-status',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <span class="status" [class]="api.link()" data-testid="status" [attr.data-link]="api.link()"
      [title]="api.lastError() ?? 'connected to ' + api.origin">
      @switch (api.link()) {
        @case ('live') { <i class="dot"></i> live }
        @case ('connecting') { <i class="dot"></i> connecting… }
        @case ('reconnecting') { <i class="dot"></i> <span class="long">reconnecting in</span> {{ api.retryIn() }} s }
      }
      @if (market.replay(); as speed) { <span class="replay">replay {{ speed }}</span> }
    </span>
  `,
  styles: `
    .status { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; white-space: nowrap; }
    .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--muted); display: inline-block; }
    .live .dot { background: var(--up); box-shadow: 0 0 6px var(--up); }
    .reconnecting { color: var(--accent); }
    .reconnecting .dot { background: var(--accent); animation: blink 1s infinite; }
    .replay { color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; }
    @media (max-width: 480px) { .long, .replay { display: none; } }
    @keyframes blink { 50% { opacity: 0.3; } }
  `,
})
export class StatusBadge {
  readonly api = inject(Api)
  readonly market = inject(Market)
}
