import { provideZonelessChangeDetection } from '@angular/core'
import { bootstrapApplication } from '@angular/platform-browser'
import { provideEchartsCore } from 'ngx-echarts'
import { App } from './app/app'
import { echarts } from './app/echarts'

bootstrapApplication(App, {
  providers: [provideZonelessChangeDetection(), provideEchartsCore({ echarts })],
}).catch((e) => console.error(e))
