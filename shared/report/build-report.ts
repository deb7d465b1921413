import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExperimentReport } from '../marketing/experiments';
import type { AttributionReport } from '../marketing/attribution';
import type { UpliftEvalResult } from '../marketing/uplift-eval';
import type { PriceEvalResult } from '../marketing/pricing';
import type { EvaluationResult } from '../ml/evaluate';
import type { EpochStats } from '../ml/train-two-tower';
import type { PropensityTarget, TargetSummary } from '../contracts/artifacts';
import type { SegmentsArtifact } from '../contracts/artifacts';

/**
 * The evaluation report: one self-contained HTML file (Chart.js and the data
 * inlined, no network needed) with the plots a marketing lead looks at —
 * training curves, model vs baselines, the segment map and profiles,
 * propensity ROC and calibration, the latest experiment's lift, ingestion
 * counts by reason. Each chart marks its canvas `data-drawn` once it has drawn
 * non-blank pixels, and page errors are collected in `#errors`, so a headless
 * browser can check the page.
 */
export interface ReportData {
  readonly generatedAt: string;
  readonly model?: {
    readonly version: string;
    readonly trainedAt: string;
    readonly metrics: Record<string, EvaluationResult>;
    readonly curves: EpochStats[];
  };
  readonly segments?: SegmentsArtifact;
  readonly propensity?: Partial<Record<PropensityTarget, TargetSummary>>;
  readonly experiment?: ExperimentReport;
  readonly attribution?: AttributionReport;
  /** The latest `uplift-eval` kept under reports/uplift/ (the demo writes one for its synthetic campaign). */
  readonly uplift?: Pick<
    UpliftEvalResult,
    'outcome' | 'treatment' | 'analysedRows' | 'ate' | 'chosen' | 'baselines' | 'curves'
  >;
  /** The latest `price-eval` kept under reports/pricing/ (the demo writes one for its synthetic price history). */
  readonly pricing?: Pick<PriceEvalResult, 'groups' | 'bounds' | 'weeks' | 'cells'>;
  readonly ingestion: {
    readonly files: number;
    readonly rowsIn: number;
    readonly accepted: number;
    readonly duplicates: number;
    readonly rejected: number;
    readonly byReason: Record<string, number>;
  };
}

/** Chart.js's minified browser build (the package does not export the path, so resolve its main file's folder). */
function chartJsSource(): string {
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

function section(id: string, title: string, explanation: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2><p class="why">${escapeHtml(explanation)}</p>${body}</section>`;
}

const canvas = (id: string) => `<div class="chart"><canvas id="${id}"></canvas></div>`;

function segmentTable(segments: SegmentsArtifact): string {
  // Without purchase values (a ratings log, say) monetary is 0 everywhere: say so instead of showing zeros.
  const hasMonetary = segments.profiles.some((profile) => profile.rfm.monetary.mean > 0);
  const rows = segments.profiles
    .map(
      (profile) =>
        `<tr><td>${escapeHtml(profile.name)}</td><td>${escapeHtml(profile.description)}</td><td>${profile.size}</td>` +
        `<td>${(profile.share * 100).toFixed(1)}%</td><td>${profile.rfm.recencyDays.mean}</td><td>${profile.rfm.frequency.mean}</td>` +
        (hasMonetary ? `<td>${profile.rfm.monetary.mean}</td>` : '') +
        `<td>${escapeHtml(profile.topCategories.map((entry) => entry.category).join(', '))}</td></tr>`,
    )
    .join('');
  const note = hasMonetary
    ? ''
    : '<p class="missing">Monetary value is not shown: the data has no purchase events with a value (event_type purchase, event_value the amount).</p>';
  return `${note}<table><thead><tr><th>segment</th><th>description</th><th>users</th><th>share</th><th>recency (days)</th><th>frequency</th>${hasMonetary ? '<th>monetary</th>' : ''}<th>top categories</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Builds the report HTML; sections without data say what produces them. */
export function buildReport(data: ReportData): string {
  const sections: string[] = [];
  const missing = (what: string) => `<p class="missing">${escapeHtml(what)}</p>`;
  sections.push(
    section(
      'training',
      'Training curves',
      'Loss per epoch and validation NDCG@10 — early stopping keeps the best epoch.',
      data.model ? canvas('chart-training') : missing('No model yet: run `mappa train`.'),
    ),
    section(
      'quality',
      'Model vs baselines (test users, full ranking)',
      'HR@10 and NDCG@10 of the two-tower model next to popularity, trending and item-kNN from the same run.',
      data.model ? canvas('chart-quality') : missing('No model yet.'),
    ),
    section(
      'segments',
      'Customer segments',
      'Users projected onto the two main directions of the embedding space (PCA), coloured by segment, and each segment profile.',
      data.segments
        ? `${canvas('chart-segments')}${segmentTable(data.segments)}`
        : missing('No segments yet.'),
    ),
    section(
      'propensity',
      // Without purchase events the target is "active again", and the title says that rather than "purchase".
      data.propensity?.purchase?.definition?.includes('no purchase events')
        ? 'Activity propensity (the data has no purchases)'
        : 'Purchase propensity',
      `ROC curve and calibration (predicted vs observed rate) on validation users; a calibrated model sits on the diagonal.${
        data.propensity?.purchase?.definition ? ` Target: a user ${data.propensity.purchase.definition}.` : ''
      }`,
      data.propensity?.purchase?.curves
        ? `<div class="pair">${canvas('chart-roc')}${canvas('chart-calibration')}</div>`
        : missing(data.propensity?.purchase?.reason ?? 'No propensity model yet.'),
    ),
    section(
      'experiment',
      data.experiment ? `Experiment ${data.experiment.experimentId}` : 'Experiment',
      'Conversion-rate lift of each variant against the control, with 95% confidence intervals.',
      data.experiment
        ? `${canvas('chart-experiment')}${data.experiment.warnings.map((warning) => `<p class="warning">${escapeHtml(warning)}</p>`).join('')}`
        : missing('No experiment yet: POST /v1/experiments.'),
    ),
    section(
      'attribution',
      'Attribution',
      `Click-through and conversion rate per impression, with 95% confidence intervals, of the lists served ${
        data.attribution ? `from ${data.attribution.from} to ${data.attribution.to}` : ''
      } — by strategy, filter and promotion (events that carried the list's recommendationId).`,
      data.attribution
        ? canvas('chart-attribution')
        : missing('Nothing served yet: every recommendations, rank and similar response is counted.'),
    ),
    section(
      'uplift',
      'Uplift: whom the campaign moves',
      data.uplift
        ? `Qini curve on held-out customers (extra ${data.uplift.outcome.kind === 'binary' ? 'conversions' : 'outcome'} bought by contacting the top share) of the chosen uplift model (${data.uplift.chosen.estimator}, Qini ${data.uplift.chosen.qini.toFixed(3)}) next to propensity targeting (Qini ${data.uplift.baselines.propensity.qini.toFixed(3)}) and random targeting; and the observed treated − control difference per decile of predicted uplift. Campaign effect over ${data.uplift.analysedRows} customers: ${(data.uplift.ate.difference * (data.uplift.outcome.kind === 'binary' ? 100 : 1)).toFixed(2)}${data.uplift.outcome.kind === 'binary' ? ' points' : ''} (95% CI ${data.uplift.ate.ci95.map((bound) => (bound * (data.uplift?.outcome.kind === 'binary' ? 100 : 1)).toFixed(2)).join(' to ')}).`
        : 'Who buys because of the campaign, from a past randomized campaign.',
      data.uplift
        ? `<div class="pair">${canvas('chart-qini')}${canvas('chart-uplift-deciles')}</div>`
        : missing('No uplift evaluation yet: `mappa uplift-eval` on a campaign file (the demo runs one).'),
    ),
    section(
      'pricing',
      'Price optimisation',
      data.pricing
        ? `Demand (units relative to today) and ${data.pricing.groups.some((group) => group.objective === 'profit') ? 'profit' : 'revenue'} (relative to today) over price, per category × segment, from ${data.pricing.cells} item-weeks over ${data.pricing.weeks} weeks; the dot is the recommended price within ±${(data.pricing.bounds * 100).toFixed(0)}%.${data.pricing.groups
            .filter((group) => group.warning)
            .map((group) => ` ${group.category} × ${group.segment}: ${group.warning}.`)
            .join('')}`
        : 'Price elasticity per category and segment, and the price that maximises profit.',
      data.pricing
        ? `<div class="pair">${canvas('chart-demand')}${canvas('chart-price-profit')}</div>`
        : missing(
            'No price evaluation yet: `mappa price-eval` on purchases with prices (the demo runs one).',
          ),
    ),
    section(
      'ingestion',
      'Ingestion',
      `${data.ingestion.files} files: ${data.ingestion.rowsIn} rows in = ${data.ingestion.accepted} accepted + ${data.ingestion.duplicates} duplicates + ${data.ingestion.rejected} rejected.`,
      canvas('chart-ingestion'),
    ),
  );
  const title = data.model ? `Mappa report — model ${data.model.version}` : 'Mappa report';
  // `<` is escaped so the data can never close the script element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#1d2433}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 4px}.why{color:#5a6478;margin:0 0 12px}
.chart{position:relative;height:320px}.pair{display:grid;grid-template-columns:1fr 1fr;gap:24px}
table{border-collapse:collapse;width:100%;margin-top:12px}th,td{border-bottom:1px solid #e3e6ee;padding:6px 8px;text-align:left}
.missing{color:#8a93a6;font-style:italic}.warning{color:#9a5b00}#errors:empty{display:none}#errors{color:#b00020;white-space:pre}
</style></head><body>
<h1>${escapeHtml(title)}</h1><p class="why">Generated ${escapeHtml(data.generatedAt)}${data.model ? `; trained ${escapeHtml(data.model.trainedAt)}` : ''}.</p>
<div id="errors"></div>
${sections.join('\n')}
<script>window.addEventListener('error',function(e){document.getElementById('errors').textContent+=String(e.message)+'\\n';});</script>
<script>${chartJsSource()}</script>
<script id="report-data" type="application/json">${json}</script>
<script>${CLIENT_SCRIPT}</script>
</body></html>
`;
}

/** Runs in the browser: draws every chart the data allows and marks it. */
const CLIENT_SCRIPT = `
(function(){
var data=JSON.parse(document.getElementById('report-data').textContent);
var palette=['#3366cc','#dc3912','#ff9900','#109618','#990099','#0099c6','#dd4477','#66aa00','#b82e2e','#316395'];
Chart.defaults.animation=false;Chart.defaults.responsive=true;Chart.defaults.maintainAspectRatio=false;
function draw(id,config){var el=document.getElementById(id);if(!el)return;
  new Chart(el,config);
  var ctx=el.getContext('2d');var img=ctx.getImageData(0,0,el.width,el.height).data;var painted=0;
  for(var i=3;i<img.length;i+=4){if(img[i]>0){painted++;}}
  if(painted>0){el.setAttribute('data-drawn','true');}}
if(data.model){
  var c=data.model.curves;
  draw('chart-training',{type:'line',data:{labels:c.map(function(e){return e.epoch;}),datasets:[
    {label:'training loss',data:c.map(function(e){return e.loss;}),borderColor:palette[0],yAxisID:'loss'},
    {label:'validation NDCG@10',data:c.map(function(e){return e.validation.ndcg10;}),borderColor:palette[1],yAxisID:'ndcg'}]},
    options:{scales:{loss:{position:'left',title:{display:true,text:'loss'}},ndcg:{position:'right',title:{display:true,text:'NDCG@10'},grid:{drawOnChartArea:false}},x:{title:{display:true,text:'epoch'}}}}});
  var names=Object.keys(data.model.metrics);
  draw('chart-quality',{type:'bar',data:{labels:names,datasets:[
    {label:'HR@10',data:names.map(function(n){return data.model.metrics[n].full.hr10;}),backgroundColor:palette[0]},
    {label:'NDCG@10',data:names.map(function(n){return data.model.metrics[n].full.ndcg10;}),backgroundColor:palette[2]}]},
    options:{scales:{y:{beginAtZero:true}}}});
}
if(data.segments){
  var sets=data.segments.profiles.map(function(p,i){return {label:p.name+' — '+p.description,
    data:data.segments.projection.filter(function(q){return q[2]===p.segment;}).map(function(q){return {x:q[0],y:q[1]};}),
    backgroundColor:palette[i%palette.length],pointRadius:3};});
  draw('chart-segments',{type:'scatter',data:{datasets:sets},options:{scales:{x:{title:{display:true,text:'PC 1'}},y:{title:{display:true,text:'PC 2'}}}}});
}
var purchase=data.propensity&&data.propensity.purchase;
if(purchase&&purchase.curves){
  draw('chart-roc',{type:'scatter',data:{datasets:[
    {label:'ROC (AUC '+purchase.validationAuc+')',data:purchase.curves.roc.map(function(p){return {x:p.fpr,y:p.tpr};}),showLine:true,borderColor:palette[0],pointRadius:0},
    {label:'chance',data:[{x:0,y:0},{x:1,y:1}],showLine:true,borderColor:'#aaa',borderDash:[4,4],pointRadius:0}]},
    options:{scales:{x:{min:0,max:1,title:{display:true,text:'false positive rate'}},y:{min:0,max:1,title:{display:true,text:'true positive rate'}}}}});
  draw('chart-calibration',{type:'scatter',data:{datasets:[
    {label:'observed vs predicted',data:purchase.curves.calibration.map(function(p){return {x:p.predicted,y:p.observed};}),showLine:true,borderColor:palette[3],backgroundColor:palette[3]},
    {label:'perfect calibration',data:[{x:0,y:0},{x:1,y:1}],showLine:true,borderColor:'#aaa',borderDash:[4,4],pointRadius:0}]},
    options:{scales:{x:{min:0,max:1,title:{display:true,text:'predicted probability'}},y:{min:0,max:1,title:{display:true,text:'observed rate'}}}}});
}
if(data.experiment){
  var v=data.experiment.variants.filter(function(x){return x.vsControl;});
  draw('chart-experiment',{type:'bar',data:{labels:v.map(function(x){return x.variant+' vs '+data.experiment.control;}),datasets:[
    {label:'lift in conversion rate (points)',data:v.map(function(x){return x.vsControl.conversionRate.difference*100;}),backgroundColor:palette[0]},
    {label:'95% CI low',data:v.map(function(x){return x.vsControl.conversionRate.ci95[0]*100;}),backgroundColor:'#bbb'},
    {label:'95% CI high',data:v.map(function(x){return x.vsControl.conversionRate.ci95[1]*100;}),backgroundColor:'#888'}]},
    options:{indexAxis:'y'}});
}
if(data.attribution){
  var rows=[].concat(
    data.attribution.byStrategy.map(function(r){return {label:'strategy '+r.strategy,row:r};}),
    data.attribution.byFilter.filter(function(r){return r.filter;}).map(function(r){return {label:'filter '+r.filter,row:r};}),
    data.attribution.byPromotion.filter(function(r){return r.promotion;}).map(function(r){return {label:'promotion '+r.promotion,row:r};}));
  var pct=function(x){return x*100;};
  draw('chart-attribution',{type:'bar',data:{labels:rows.map(function(r){return r.label+' ('+r.row.impressions+' impressions)';}),datasets:[
    {label:'CTR %',data:rows.map(function(r){return pct(r.row.ctr.value);}),backgroundColor:palette[0]},
    {label:'CTR 95% CI high',data:rows.map(function(r){return pct(r.row.ctr.ci95[1]);}),backgroundColor:'#bbb'},
    {label:'conversion rate %',data:rows.map(function(r){return pct(r.row.conversionRate.value);}),backgroundColor:palette[3]},
    {label:'conversion 95% CI high',data:rows.map(function(r){return pct(r.row.conversionRate.ci95[1]);}),backgroundColor:'#888'}]},
    options:{indexAxis:'y'}});
}
if(data.uplift){
  var u=data.uplift;var scale=u.outcome.kind==='binary'?100:1;var end=u.curves.chosen[u.curves.chosen.length-1];
  draw('chart-qini',{type:'scatter',data:{datasets:[
    {label:'uplift model ('+u.chosen.estimator+')',data:u.curves.chosen.map(function(p){return {x:p.share*100,y:p.value};}),showLine:true,borderColor:palette[0],pointRadius:0},
    {label:'propensity targeting',data:u.curves.propensity.map(function(p){return {x:p.share*100,y:p.value};}),showLine:true,borderColor:palette[1],pointRadius:0},
    {label:'random targeting',data:[{x:0,y:0},{x:100,y:end.value}],showLine:true,borderColor:'#aaa',borderDash:[4,4],pointRadius:0}]},
    options:{scales:{x:{min:0,max:100,title:{display:true,text:'customers contacted (%), highest predicted uplift first'}},y:{title:{display:true,text:'extra outcome (Qini)'}}}}});
  draw('chart-uplift-deciles',{type:'bar',data:{labels:u.chosen.deciles.map(function(d){return 'decile '+d.decile;}),datasets:[
    {label:'observed treated − control'+(scale===100?' (points)':''),data:u.chosen.deciles.map(function(d){return d.observedUplift*scale;}),backgroundColor:u.chosen.deciles.map(function(d){return d.observedUplift>=0?palette[3]:palette[1];})},
    {label:'predicted',type:'line',data:u.chosen.deciles.map(function(d){return d.predictedUplift*scale;}),borderColor:palette[0],backgroundColor:palette[0]}]},
    options:{scales:{y:{title:{display:true,text:'uplift'+(scale===100?' (points)':'')}}}}});
}
if(data.pricing){
  var groups=data.pricing.groups;
  var label=function(g){return g.category+' × '+g.segment+' (ε '+g.elasticity.estimate.toFixed(2)+')';};
  draw('chart-demand',{type:'scatter',data:{datasets:groups.map(function(g,i){return {label:label(g),
    data:g.curve.map(function(p){return {x:(p.multiplier-1)*100,y:p.demand};}),showLine:true,borderColor:palette[i%palette.length],pointRadius:0};})},
    options:{scales:{x:{title:{display:true,text:'price change (%)'}},y:{title:{display:true,text:'units (1 = today)'}}}}});
  var sets=[];
  groups.forEach(function(g,i){
    sets.push({label:label(g),data:g.curve.map(function(p){return {x:(p.multiplier-1)*100,y:p.objective};}),showLine:true,borderColor:palette[i%palette.length],pointRadius:0});
    sets.push({label:g.category+' × '+g.segment+': '+g.decision+' '+((g.priceMultiplier-1)*100).toFixed(0)+'%',data:[{x:(g.priceMultiplier-1)*100,y:1+g.expectedChange.estimate}],backgroundColor:palette[i%palette.length],pointRadius:6,pointStyle:'circle'});
  });
  draw('chart-price-profit',{type:'scatter',data:{datasets:sets},
    options:{plugins:{legend:{labels:{filter:function(item){return item.text.indexOf(':')<0;}}}},scales:{x:{title:{display:true,text:'price change (%)'}},y:{title:{display:true,text:(groups.some(function(g){return g.objective==='profit';})?'profit':'revenue')+' (1 = today)'}}}}});
}
var reasons=Object.keys(data.ingestion.byReason);
draw('chart-ingestion',{type:'bar',data:{labels:['accepted','duplicates'].concat(reasons.map(function(r){return 'rejected: '+r;})),
  datasets:[{label:'rows',data:[data.ingestion.accepted,data.ingestion.duplicates].concat(reasons.map(function(r){return data.ingestion.byReason[r];})),
  backgroundColor:[palette[3],palette[2]].concat(reasons.map(function(){return palette[1];}))}]},options:{indexAxis:'y'}});
})();
`;
