import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig } from './config';
import { MappaStack } from './mappa-stack';

const app = new App();
const config = loadStageConfig((key) => app.node.tryGetContext(key));
new MappaStack(app, 'Mappa', {
  config,
  description: 'Mappa: self-hosted personalization (data lake, feature store, training, serving)',
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
