// ECharts tree-shaken to what the screen draws: candlesticks, bars, lines; grid, tooltip,
// crosshair, data zoom; canvas renderer. Importing 'echarts' whole would ship every chart type.
import { BarChart, CandlestickChart, LineChart } from 'echarts/charts'
import {
  AxisPointerComponent,
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  GridComponent,
  TooltipComponent,
} from 'echarts/components'
import * as echarts from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([
  CandlestickChart,
  BarChart,
  LineChart,
  GridComponent,
  TooltipComponent,
  AxisPointerComponent,
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  CanvasRenderer,
])

export { echarts }

export const colors = {
  up: '#0ecb81',
  down: '#f6465d',
  text: '#b7bdc6',
  muted: '#5e6673',
  grid: '#1f2630',
  accent: '#f0b90b',
  bg: '#0b0e11',
  panel: '#12161c',
}
